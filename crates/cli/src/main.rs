//! `cuervo`: an AI coding agent for the terminal.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cuervo_cli::args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(cuervo_cli::main(cli))
}
