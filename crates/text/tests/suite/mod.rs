// Each module owner adds its own line here.
mod pii;
mod scan;
mod syntax;
mod tokens;
