pub(crate) mod api;
mod fleet;
mod sdk;
