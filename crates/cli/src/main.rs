//! `cuervo`: an AI coding agent for the terminal.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // `cuervo __sandbox ...`: the shell sandbox's helper, which confines itself and
    // becomes the command (see `cuervo_tools::sandbox`). Dispatched before anything else
    // starts, threads included: Landlock restricts only the calling thread.
    let mut args = std::env::args_os();
    if args
        .nth(1)
        .is_some_and(|arg| arg == cuervo_tools::sandbox::HELPER_ARG)
    {
        return cuervo_tools::sandbox::helper_main(args);
    }
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
