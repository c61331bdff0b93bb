//! End-to-end tests of the `cuervo` binary against the mock LLM server.

mod suite;
