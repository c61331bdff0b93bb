//! Local-model benchmark: prints a Markdown table.
//!
//!     scripts/fetch-models
//!     CUERVO_LLAMA_PYTHON=~/.cache/cuervo/llama-venv/bin/python \
//!     CUERVO_ST_PYTHON=~/.cache/cuervo/st-venv/bin/python \
//!         cargo run --release -p cuervo-local --example bench
//!
//! - chat: SmolLM2-135M-Instruct Q4_1, greedy, 2 threads, the same rendered prompt as the
//!   llama.cpp reference (`scripts/gen-local-fixtures-chat.py --bench`, run when
//!   `CUERVO_LLAMA_PYTHON` names a Python with llama-cpp-python); best of 3 runs each, the
//!   two engines alternating so machine noise hits both;
//! - embeddings: all-MiniLM-L6-v2 over the 20 fixture sentences repeated 10 times,
//!   batches of 32, against sentence-transformers when `CUERVO_ST_PYTHON` is set;
//! - load: time from nothing to ready, best of 3.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use cuervo_local::{ChatModel, EngineOptions, GenEvent, LocalEmbedder, SamplingParams};

const BENCH_USER: &str = "Write a long, detailed story about a lighthouse keeper and a storm.";
const BENCH_NEW: u32 = 128;

fn cache() -> PathBuf {
    std::env::var_os("CUERVO_MODEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/cuervo/models")
        })
}

struct Chat {
    load_s: f64,
    prompt_tokens: usize,
    generated: usize,
    prompt_tps: f64,
    gen_tps: f64,
}

fn rust_chat(path: &std::path::Path) -> Chat {
    let options = EngineOptions {
        threads: 2,
        max_context: 2048,
        batch: 512,
        flash_attention: false,
    };
    let mut load_s = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let m = ChatModel::load(path, &options).unwrap();
        load_s = load_s.min(t.elapsed().as_secs_f64());
        drop(m);
    }
    let model = ChatModel::load(path, &options).unwrap();
    let prompt = model
        .template()
        .render(None, &[cuervo_domain::Message::user(BENCH_USER)], &[])
        .unwrap();
    let mut best: Option<Chat> = None;
    for _ in 0..3 {
        // No KV reuse between runs, as the reference.
        model.reset();
        let mut g = model.generate(prompt.clone(), BENCH_NEW, SamplingParams::greedy());
        let r = loop {
            match g.blocking_next().unwrap() {
                GenEvent::Done {
                    prompt_tokens,
                    generated,
                    prompt_time,
                    gen_time,
                    ..
                } => {
                    break Chat {
                        load_s,
                        prompt_tokens,
                        generated,
                        prompt_tps: prompt_tokens as f64 / prompt_time.as_secs_f64(),
                        gen_tps: generated as f64 / gen_time.as_secs_f64(),
                    };
                }
                GenEvent::Error(e) => panic!("{e}"),
                _ => {}
            }
        };
        if best.as_ref().is_none_or(|b| r.gen_tps > b.gen_tps) {
            best = Some(r);
        }
    }
    best.unwrap()
}

fn python_json(python: &str, args: &[&str]) -> Option<serde_json::Value> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(python)
        .args(args)
        .current_dir(&repo)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "{python} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last()?).ok()
}

fn sentences() -> Vec<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm-embeddings.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let s: Vec<String> = serde_json::from_value(v["sentences"].clone()).unwrap();
    s.iter().cycle().take(200).cloned().collect()
}

fn main() {
    let gguf = cache().join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let minilm = cache().join("all-MiniLM-L6-v2");
    assert!(
        gguf.exists() && minilm.exists(),
        "run scripts/fetch-models first"
    );
    let llama_py = std::env::var("CUERVO_LLAMA_PYTHON").ok();
    let st_py = std::env::var("CUERVO_ST_PYTHON").ok();

    // Chat: alternate engines, keep each one's best.
    let mut ours: Option<Chat> = None;
    let mut reference: Option<serde_json::Value> = None;
    for _ in 0..2 {
        let r = rust_chat(&gguf);
        if ours.as_ref().is_none_or(|b| r.gen_tps > b.gen_tps) {
            ours = Some(r);
        }
        if let Some(py) = &llama_py
            && let Some(j) = python_json(py, &["scripts/gen-local-fixtures-chat.py", "--bench"])
            && reference
                .as_ref()
                .is_none_or(|b| j["gen_tps"].as_f64() > b["gen_tps"].as_f64())
        {
            reference = Some(j);
        }
    }
    let ours = ours.unwrap();

    // Embeddings.
    let texts = sentences();
    let mut emb_load = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        drop(LocalEmbedder::load(&minilm).unwrap());
        emb_load = emb_load.min(t.elapsed().as_secs_f64());
    }
    let e = LocalEmbedder::load(&minilm).unwrap();
    let _ = e.embed(&texts[..20]).unwrap();
    let mut emb_sps: f64 = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        let _ = e.embed(&texts).unwrap();
        emb_sps = emb_sps.max(texts.len() as f64 / t.elapsed().as_secs_f64());
    }
    let st = st_py.as_deref().and_then(|py| {
        python_json(
            py,
            &[
                "-c",
                ST_BENCH,
                &minilm.to_string_lossy(),
                &PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/minilm-embeddings.json")
                    .to_string_lossy(),
            ],
        )
    });

    let f = |v: Option<f64>, d: usize| v.map_or("n/a".to_owned(), |x| format!("{x:.d$}"));
    let rf = |k: &str| reference.as_ref().and_then(|r| r[k].as_f64());
    let sf = |k: &str| st.as_ref().and_then(|r| r[k].as_f64());
    let ratio = |a: f64, b: Option<f64>| b.map_or("n/a".to_owned(), |b| format!("{:.2}×", a / b));
    println!("| measure (2 threads) | cuervo-local | reference | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| SmolLM2-135M Q4_1 generation, tokens/s ({} tokens, greedy) | {:.1} | {} | {} |",
        ours.generated,
        ours.gen_tps,
        f(rf("gen_tps"), 1),
        ratio(ours.gen_tps, rf("gen_tps"))
    );
    println!(
        "| SmolLM2-135M Q4_1 prompt evaluation, tokens/s ({} tokens) | {:.0} | {} | {} |",
        ours.prompt_tokens,
        ours.prompt_tps,
        f(rf("prompt_tps"), 0),
        ratio(ours.prompt_tps, rf("prompt_tps"))
    );
    println!(
        "| SmolLM2-135M Q4_1 load, s | {:.3} | {} | {} |",
        ours.load_s,
        f(rf("load_s"), 3),
        ratio(ours.load_s, rf("load_s"))
    );
    println!(
        "| all-MiniLM-L6-v2 embeddings, sentences/s ({} sentences, batch 32) | {:.1} | {} | {} |",
        texts.len(),
        emb_sps,
        f(sf("sps"), 1),
        ratio(emb_sps, sf("sps"))
    );
    println!(
        "| all-MiniLM-L6-v2 load, s | {:.3} | {} | {} |",
        emb_load,
        f(sf("load_s"), 3),
        ratio(emb_load, sf("load_s"))
    );
    println!();
    println!(
        "reference: chat = {}; embeddings = {}",
        reference
            .as_ref()
            .and_then(|r| r["engine"].as_str())
            .unwrap_or("not run (set CUERVO_LLAMA_PYTHON)"),
        st.as_ref()
            .and_then(|r| r["engine"].as_str())
            .unwrap_or("not run (set CUERVO_ST_PYTHON)"),
    );
}

/// sentence-transformers throughput on the same 200 sentences (torch, 2 threads).
const ST_BENCH: &str = r#"
import json, sys, time, torch, sentence_transformers
from sentence_transformers import SentenceTransformer
torch.set_num_threads(2)
model_dir, fixture = sys.argv[1], sys.argv[2]
texts = (json.load(open(fixture))["sentences"] * 10)[:200]
loads = []
for _ in range(3):
    t = time.perf_counter(); m = SentenceTransformer(model_dir, device="cpu"); loads.append(time.perf_counter() - t)
m.encode(texts[:20], batch_size=32)
best = 0
for _ in range(3):
    t = time.perf_counter(); m.encode(texts, batch_size=32); best = max(best, len(texts) / (time.perf_counter() - t))
print(json.dumps({"sps": best, "load_s": min(loads), "engine": "sentence-transformers " + sentence_transformers.__version__ + ", torch " + torch.__version__}))
"#;
