mod agent_loop;
mod fakes;
