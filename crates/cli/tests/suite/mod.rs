mod common;
mod config_cmd;
mod e2e;
mod faults;
mod interactive;
