mod agent_loop;
mod conversation;
mod fakes;
