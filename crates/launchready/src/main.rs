//! The `launchready` binary: parses the command line, wires the library crates together, and maps outcomes to
//! exit codes. All the work lives in the libraries; this file only connects them.

mod aiprobe;
mod cli;
mod commands;
mod demo_flows;
mod dns;
mod env;
mod flow;
mod gate;
mod handover;
mod journey_args;
mod load;
mod monitor;
mod secrets;
mod smoke;

use clap::Parser;
use std::process::ExitCode;

// Load runs allocate per request; mimalloc spends fewer cycles on it than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README and `--help`.
pub mod exit {
    pub const READY: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const COULD_NOT_RUN: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

/// An error that knows which exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::USAGE,
            error: error.into(),
        }
    }

    pub fn could_not_run(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::COULD_NOT_RUN,
            error: error.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::COULD_NOT_RUN);
        }
    };
    // `load` handles Ctrl-C itself: it stops the run and still writes the report.
    let handles_interrupt = matches!(cli.command, cli::Command::Load(_));
    let outcome = runtime.block_on(async {
        if handles_interrupt {
            return commands::run(cli).await;
        }
        tokio::select! {
            result = commands::run(cli) => result,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("interrupted");
                Ok(exit::INTERRUPTED)
            }
        }
    });
    // Probes still in flight must not delay the exit: Ctrl-C means now.
    runtime.shutdown_background();
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            // Manifest errors arrive already rendered rustc-style, starting with "error:".
            let message = format!("{:#}", failure.error);
            if message.starts_with("error:") {
                eprintln!("{message}");
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(failure.code)
        }
    }
}
