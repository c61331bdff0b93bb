//! The proxy's integration tests: one binary, against the testkit mock server.
// Shared fixtures outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
