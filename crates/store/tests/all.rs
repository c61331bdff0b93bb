//! Integration tests of the store.

mod suite;
