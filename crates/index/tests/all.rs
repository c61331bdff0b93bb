//! Integration tests of the codebase index.
// Shared fixtures outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
