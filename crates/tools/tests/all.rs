//! The integration suite: every tool driven through the public `Tool` trait, as the
//! agent loop drives it. One binary, so it links once.

#![allow(clippy::unwrap_used)]

mod suite;
