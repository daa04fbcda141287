//! The local runner (being written).

/// Runs the local runner from the environment; the binary's whole `main`.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
