//! What the shell sandbox adds to every `bash` call: `bash -c true` through the bash tool
//! unconfined, through the Landlock + seccomp helper, and through bubblewrap (when
//! `bwrap` is installed and works here). Run with `cargo bench -p cuervo-tools --bench
//! sandbox`; criterion writes each median to `target/criterion/sandbox/*/new/estimates.json`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use cuervo_domain::Tool;
use cuervo_domain::ToolContext;
use cuervo_domain::tool::{SandboxBackend, SandboxLauncher, SandboxMode, SandboxSpec};
use cuervo_tools::BashTool;
use serde_json::json;

fn ctx(root: PathBuf, backend: Option<SandboxBackend>) -> ToolContext {
    let mut ctx = ToolContext::new(root);
    if let Some(backend) = backend {
        ctx.sandbox = SandboxSpec {
            mode: SandboxMode::WorkspaceWrite,
            network: false,
            backend,
            launcher: Some(SandboxLauncher {
                program: env!("CARGO_BIN_EXE_cuervo-sandbox").into(),
                args: Vec::new(),
            }),
        };
    }
    ctx
}

fn bwrap_works() -> bool {
    std::process::Command::new("bwrap")
        .args([
            "--ro-bind",
            "/",
            "/",
            "--unshare-pid",
            "--unshare-net",
            "--dev",
            "/dev",
        ])
        .args(["--proc", "/proc", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir(root.join(".git")).unwrap();
    std::fs::create_dir(root.join("src")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("sandbox");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(8));
    let mut cases = vec![
        ("unsandboxed", None),
        ("landlock", Some(SandboxBackend::Landlock)),
    ];
    if bwrap_works() {
        cases.push(("bubblewrap", Some(SandboxBackend::Bubblewrap)));
    } else {
        eprintln!("bubblewrap is not installed or does not work here: skipping it");
    }
    for (name, backend) in cases {
        let ctx = ctx(root.clone(), backend);
        group.bench_function(name, |b| {
            b.iter(|| {
                let out = runtime
                    .block_on(BashTool.execute(json!({"command": "true"}), &ctx))
                    .unwrap();
                assert!(!out.is_error, "{name}: {}", out.content);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
