//! Subcommands that expose the fast layer (`cuervo grep`, `files`, `symbols`, `tokens`,
//! `pii`). Each lives in its own module with its clap `Args` and a `run` function.
