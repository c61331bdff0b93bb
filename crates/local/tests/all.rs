//! The one integration-test binary of cuervo-local (see `suite/`).
//!
//! Tests that need real weights load them from `CUERVO_MODEL_CACHE` (default
//! `~/.cache/cuervo/models`), filled by `scripts/fetch-models`; without them they fail and
//! say so, rather than skip.

#![allow(clippy::unwrap_used)]

mod suite;
