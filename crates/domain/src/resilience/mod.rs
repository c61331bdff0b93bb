//! Resilience as pure rules: the retry policy and the circuit breaker. The core applies
//! them to model calls; nothing here waits or reads a clock (time is passed in).

pub mod breaker;
pub mod retry;

pub use breaker::*;
pub use retry::{GiveUp, RetryPolicy, human_duration};
