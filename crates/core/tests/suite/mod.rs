mod agent_loop;
mod agents;
mod cache;
mod conversation;
mod delegation;
mod fakes;
mod resilience;
