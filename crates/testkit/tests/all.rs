//! The test kit's one integration-test binary: a real server on a real socket, hit with
//! reqwest as a provider client would.

#![allow(clippy::unwrap_used)]

mod suite;
