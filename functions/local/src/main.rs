//! `hookline-local`: the whole Hookline stack in one process on the embedded backend.

/// jemalloc instead of glibc's allocator: the runner allocates on every async worker and
/// frees much of it on another (the SQLite writer, the HTTP connections' tasks), which in
/// glibc's allocator takes an arena lock and, for page-sized blocks, consolidation passes.
/// Measured on the benchmark's fan-out scenarios, about a fifth of the runner's CPU went to
/// the allocator; jemalloc's per-thread caches take most of that away.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    hookline_local::main()
}
