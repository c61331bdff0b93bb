pub(crate) mod api;
mod sdk;
