use std::process::ExitCode;

use clap::Parser;

/// mimalloc: quadgen allocates many small strings and frees them together; glibc's malloc spends a
/// fifth of a large compile coalescing them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quadgen::cli::keep_freed_memory();
    // Die quietly like other Unix tools when the reader of our output goes away (`quadgen plan |
    // head`), instead of panicking on a write to a closed pipe.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    quadgen::cli::run(quadgen::cli::Cli::parse())
}
