//! Subcommands that expose the fast layer (`cuervo grep`, `files`, `symbols`, `tokens`,
//! `pii`). Each lives in its own module with its clap `Args` and a `run` function.
pub mod audit;
pub mod auth;
pub mod files;
pub mod grep;
pub mod pii;
pub mod sessions;
pub mod symbols;
pub mod tokens;
