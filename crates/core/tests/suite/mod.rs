mod agent_loop;
mod cache;
mod conversation;
mod fakes;
mod resilience;
