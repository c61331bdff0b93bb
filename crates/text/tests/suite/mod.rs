// Each module owner adds its own line here.
mod pii;
mod repomap;
mod scan;
mod syntax;
mod tokens;
