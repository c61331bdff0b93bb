//! `cuervo cache stats | clear` on the user's database.

use std::path::Path;
use std::sync::Arc;

use cuervo_domain::CacheScope;
use cuervo_store::{FileCache, SemanticCache};
use serde_json::json;

use super::common::Sandbox;
use super::sessions::open_db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_clear_report_the_on_disk_caches() {
    let sandbox = Sandbox::new();
    let out = sandbox.cuervo(&[], &["cache", "stats"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("semantic cache: 0 answers, 0 B, 0 hits"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("in-memory caches"), "{}", out.stdout);

    {
        let db = Arc::new(open_db(&sandbox));
        let scope = CacheScope::new("openai", "gpt-4.1", &[], Some("system"));
        let semantic = SemanticCache::new(db.clone());
        semantic.put(&scope, "q", &[1.0, 0.0], "a").unwrap();
        semantic.lookup(&scope, &[1.0, 0.0], 0.95).unwrap().unwrap();
        FileCache::new(db)
            .record(Path::new("/src/a.rs"), 3, 1, "h")
            .unwrap();
    }
    let out = sandbox.cuervo(&[], &["cache", "stats", "--json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stats = &out.json_lines()[0];
    assert_eq!(stats["semantic"]["entries"], json!(1));
    assert_eq!(stats["semantic"]["hits"], json!(1));
    assert_eq!(stats["files"]["entries"], json!(1));

    let out = sandbox.cuervo(&[], &["cache", "clear"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim(),
        "cleared 1 cached answers and 1 file entries"
    );
    let out = sandbox.cuervo(&[], &["cache", "stats", "--json"]).await;
    assert_eq!(out.json_lines()[0]["semantic"]["entries"], json!(0));
}
