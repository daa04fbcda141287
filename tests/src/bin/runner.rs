//! The runner under test: exactly what the `hookline-local` binary runs.

fn main() -> std::process::ExitCode {
    hookline_local::main()
}
