mod anthropic;
mod common;
mod openai;
mod resilience;
