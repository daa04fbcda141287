//! `hookline-local`: the whole Hookline stack in one process on the embedded backend.

fn main() -> std::process::ExitCode {
    hookline_local::main()
}
