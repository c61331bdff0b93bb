// Each module owner adds its own line here.
mod scan;
mod tokens;
mod syntax;
mod pii;
