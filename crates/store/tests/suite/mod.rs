mod audit;
mod cache;
mod migrations;
mod sessions;
