use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    quadgen::cli::run(quadgen::cli::Cli::parse())
}
