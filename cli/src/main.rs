//! `hookline`: the command line of a Hookline stack. Each invocation reads one profile,
//! gets a token (kept in memory only), makes its calls and exits with a documented code
//! (docs/cli.md): 0 ok, 1 the API answered with an error, 2 usage, 3 the API could not be
//! reached or refused the credentials.

mod api;
mod args;
mod commands;
mod error;
mod output;
mod profiles;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::Cli;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors: clap prints them to stdout.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookline: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                // Scripts reading `--json` get the problem document itself, on one line.
                error::CliError::Api(p) if json && !p.body.is_null() => eprintln!("{}", p.body),
                _ => eprintln!("{e}"),
            }
            e.exit_code()
        }
    }
}

/// Rust ignores SIGPIPE, so `hookline … | head` would fail writing to a closed pipe (a panic);
/// like other command-line tools, `hookline` ends quietly instead.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
