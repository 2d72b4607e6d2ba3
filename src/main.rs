use std::process::ExitCode;

use clap::Parser;

/// mimalloc: quadgen allocates many small strings and frees them together; glibc's malloc spends a
/// fifth of a large compile coalescing them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, the same in mimalloc 2 and 3;
/// `libmimalloc-sys` names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // quadgen runs for milliseconds: memory it frees is better kept for its next allocation than
    // given back to the kernel (an `madvise` each time, and a page fault when it is used again),
    // which mimalloc otherwise does 10 ms after a free and for all of it at exit.
    // SAFETY: sets an option of the allocator, before any thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
    // Die quietly like other Unix tools when the reader of our output goes away (`quadgen plan |
    // head`), instead of panicking on a write to a closed pipe.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    quadgen::cli::run(quadgen::cli::Cli::parse())
}
