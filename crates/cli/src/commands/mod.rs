//! Subcommands beside the agent itself: the fast layer (`grep`, `files`, `symbols`,
//! `tokens`, `pii`), the codebase index (`index`, `search`), stored state (`sessions`,
//! `audit`, `auth`) and `models`. Each lives
//! in its own module with its clap `Args` and a `run` function.
pub mod agents;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod files;
pub mod grep;
pub mod index;
pub mod models;
pub mod pii;
pub mod route;
pub mod search;
pub mod sessions;
pub mod symbols;
pub mod tokens;
pub mod trust;
