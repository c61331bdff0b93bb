//! The crate's one integration-test binary: the adapters against the testkit mock server.

#![allow(clippy::unwrap_used)]

mod suite;
