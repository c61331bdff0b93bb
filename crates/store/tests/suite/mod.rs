mod audit;
mod migrations;
mod sessions;
