pub(crate) mod api;
mod common;
mod fleet;
mod parsers;
mod sdk;
