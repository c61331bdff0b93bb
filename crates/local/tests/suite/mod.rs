mod chat;
mod common;
mod embed;
mod hub;
mod store;
mod template;
