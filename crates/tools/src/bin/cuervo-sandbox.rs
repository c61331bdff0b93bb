//! The sandbox helper on its own: confines itself as its arguments say, then executes
//! the command. `cuervo __sandbox` is the same helper inside the main binary; this one
//! serves this crate's tests and benchmarks. See `cuervo_tools::sandbox`.

fn main() -> std::process::ExitCode {
    cuervo_tools::sandbox::helper_main(std::env::args_os().skip(1))
}
