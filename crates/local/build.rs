//! Records which x86 SIMD level llama.cpp is being built with, so the crate can say so
//! (`cuervo_local::chat::LLAMA_SIMD`). `llama-cpp-sys-2` turns `GGML_NATIVE` off and enables
//! AVX2/FMA/F16C only when rustc's target features or the `GGML_*` environment variables
//! ask for them; a baseline build runs about 4x slower (see docs/adr/0001).

fn main() {
    for var in [
        "GGML_AVX2",
        "GGML_FMA",
        "GGML_F16C",
        "CARGO_CFG_TARGET_FEATURE",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let on = |var: &str| std::env::var(var).is_ok_and(|v| v.eq_ignore_ascii_case("on"));
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let has = |f: &str| features.split(',').any(|x| x == f);
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let simd = if arch != "x86_64" {
        "native-arch"
    } else if (on("GGML_AVX2") && on("GGML_FMA") && on("GGML_F16C"))
        || (has("avx2") && has("fma") && has("f16c"))
    {
        "avx2"
    } else {
        "baseline"
    };
    println!("cargo:rustc-env=CUERVO_LLAMA_SIMD={simd}");
}
