mod agent_loop;
mod agents;
mod cache;
mod context;
mod conversation;
mod delegation;
mod fakes;
mod resilience;
