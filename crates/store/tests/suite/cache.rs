//! The L2 caches: the semantic cache never answers across scopes, respects its threshold
//! and TTL, and evicts the least recently used rows past its byte bound; the file cache
//! round-trips hashes and parse results and forgets parses of old content.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use cuervo_domain::{CacheScope, ResponseCache, ToolSpec};
use cuervo_store::cache::{Clock, clear, content_hash, file_stamp, stats};
use cuervo_store::{Db, Error, FileCache, SemanticCache, SemanticCacheConfig};
use pretty_assertions::assert_eq;

/// A clock the test moves by hand, in milliseconds since the epoch.
fn clock(start: i64) -> (Arc<AtomicI64>, Clock) {
    let now = Arc::new(AtomicI64::new(start));
    let read = now.clone();
    (now, Arc::new(move || read.load(Ordering::SeqCst)))
}

fn scope(model: &str) -> CacheScope {
    CacheScope::new("anthropic", model, &[], Some("You are Cuervo."))
}

/// A unit vector at cosine `c` with `[1, 0]`.
fn at_cosine(c: f32) -> Vec<f32> {
    vec![c, (1.0 - c * c).sqrt()]
}

fn cache(db: &Arc<Db>, config: SemanticCacheConfig, start: i64) -> (Arc<AtomicI64>, SemanticCache) {
    let (now, clock) = clock(start);
    (
        now,
        SemanticCache::new(db.clone())
            .with_config(config)
            .with_clock(clock),
    )
}

#[test]
fn no_hit_across_models_tools_or_system_prompts() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let (_, cache) = cache(&db, SemanticCacheConfig::default(), 1_000);
    let base = scope("claude-sonnet-4-5");
    cache.put(&base, "what is 2+2?", &[1.0, 0.0], "4").unwrap();

    let hit = cache.lookup(&base, &[1.0, 0.0], 0.95).unwrap().unwrap();
    assert_eq!(hit.response, "4");
    assert!((hit.similarity - 1.0).abs() < 1e-6);
    assert_eq!(hit.created_at_ms, 1_000);

    let tool = ToolSpec {
        name: "bash".into(),
        description: "runs a command".into(),
        input_schema: serde_json::json!({"type": "object"}),
    };
    let others = [
        ("another model", scope("gpt-4.1")),
        (
            "another provider",
            CacheScope {
                provider: "my-gateway".into(),
                ..base.clone()
            },
        ),
        (
            "other tools",
            CacheScope::new(
                "anthropic",
                "claude-sonnet-4-5",
                &[tool],
                Some("You are Cuervo."),
            ),
        ),
        (
            "another system prompt",
            CacheScope::new(
                "anthropic",
                "claude-sonnet-4-5",
                &[],
                Some("You are a pirate."),
            ),
        ),
        (
            "no system prompt",
            CacheScope::new("anthropic", "claude-sonnet-4-5", &[], None),
        ),
    ];
    for (what, other) in &others {
        assert_eq!(
            cache.lookup(other, &[1.0, 0.0], 0.95).unwrap(),
            None,
            "{what} must not be served the same answer"
        );
    }
    // An embedding of another dimension (another embedding model) never matches either.
    assert_eq!(cache.lookup(&base, &[1.0, 0.0, 0.0], 0.95).unwrap(), None);
}

#[test]
fn the_similarity_threshold_is_respected_and_the_best_match_wins() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let (_, cache) = cache(&db, SemanticCacheConfig::default(), 1_000);
    let s = scope("m");
    cache.put(&s, "prompt a", &[1.0, 0.0], "answer a").unwrap();

    assert_eq!(
        cache.lookup(&s, &at_cosine(0.9), 0.95).unwrap(),
        None,
        "0.90 misses"
    );
    let hit = cache.lookup(&s, &at_cosine(0.99), 0.95).unwrap().unwrap();
    assert_eq!(hit.response, "answer a");
    assert!((hit.similarity - 0.99).abs() < 1e-4, "{}", hit.similarity);

    // A closer prompt wins over a merely similar one.
    cache
        .put(&s, "prompt b", &at_cosine(0.99), "answer b")
        .unwrap();
    let hit = cache.lookup(&s, &at_cosine(0.985), 0.95).unwrap().unwrap();
    assert_eq!(hit.response, "answer b");
    assert_eq!(cache.stats().unwrap().semantic_hits, 2);
}

#[test]
fn answers_expire_after_the_ttl() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let day = 24 * 60 * 60 * 1000;
    let (now, cache) = cache(&db, SemanticCacheConfig::default(), 1_000);
    let s = scope("m");
    cache.put(&s, "q", &[1.0, 0.0], "a").unwrap();

    now.store(1_000 + day - 1, Ordering::SeqCst);
    assert!(
        cache.lookup(&s, &[1.0, 0.0], 0.95).unwrap().is_some(),
        "still fresh"
    );
    now.store(1_000 + day, Ordering::SeqCst);
    assert_eq!(
        cache.lookup(&s, &[1.0, 0.0], 0.95).unwrap(),
        None,
        "expired at 24 h"
    );
    assert_eq!(cache.stats().unwrap().semantic_expired, 1);
    // The next write sweeps expired rows away.
    cache.put(&s, "other", &[0.0, 1.0], "b").unwrap();
    assert_eq!(cache.stats().unwrap().semantic_entries, 1);

    // A shorter TTL is honoured too.
    let (now, short) = cache_with_ttl(&db, Duration::from_secs(60));
    short.put(&s, "q", &[1.0, 0.0], "a").unwrap();
    now.store(60_000 - 1, Ordering::SeqCst);
    assert!(short.lookup(&s, &[1.0, 0.0], 0.95).unwrap().is_some());
    now.store(60_000, Ordering::SeqCst);
    assert_eq!(short.lookup(&s, &[1.0, 0.0], 0.95).unwrap(), None);
}

fn cache_with_ttl(db: &Arc<Db>, ttl: Duration) -> (Arc<AtomicI64>, SemanticCache) {
    cache(
        db,
        SemanticCacheConfig {
            ttl,
            ..SemanticCacheConfig::default()
        },
        0,
    )
}

#[test]
fn the_byte_bound_evicts_the_least_recently_used_first() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let s = scope("m");
    // Each row is 256 bytes of overhead + 8 of embedding + 1000 of response = 1264 bytes;
    // the bound holds three.
    let (now, cache) = cache(
        &db,
        SemanticCacheConfig {
            max_bytes: 3 * 1264,
            ..SemanticCacheConfig::default()
        },
        0,
    );
    let answer = |c: char| c.to_string().repeat(1000);
    let dirs = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]];
    for (i, dir) in dirs.iter().take(3).enumerate() {
        now.store(i as i64 * 10, Ordering::SeqCst);
        cache
            .put(
                &s,
                &format!("q{i}"),
                dir,
                &answer(char::from(b'a' + i as u8)),
            )
            .unwrap();
    }
    assert_eq!(cache.stats().unwrap().semantic_entries, 3);
    assert_eq!(cache.stats().unwrap().semantic_bytes, 3 * 1264);

    // The oldest insert is used again, so the second one is now the least recently used.
    now.store(100, Ordering::SeqCst);
    assert_eq!(
        cache.lookup(&s, &dirs[0], 0.95).unwrap().unwrap().response,
        answer('a')
    );
    now.store(110, Ordering::SeqCst);
    cache.put(&s, "q3", &dirs[3], &answer('d')).unwrap();

    let stats = cache.stats().unwrap();
    assert_eq!(stats.semantic_entries, 3);
    assert!(stats.semantic_bytes <= 3 * 1264);
    assert!(
        cache.lookup(&s, &dirs[0], 0.95).unwrap().is_some(),
        "recently used: kept"
    );
    assert_eq!(
        cache.lookup(&s, &dirs[1], 0.95).unwrap(),
        None,
        "least recently used: evicted"
    );
    assert!(cache.lookup(&s, &dirs[2], 0.95).unwrap().is_some());
    assert!(cache.lookup(&s, &dirs[3], 0.95).unwrap().is_some());

    // Evicting to a smaller bound keeps the most recently used rows only.
    now.store(200, Ordering::SeqCst);
    cache.lookup(&s, &dirs[2], 0.95).unwrap();
    assert_eq!(cache.evict_to(1264).unwrap(), 2);
    assert!(cache.lookup(&s, &dirs[2], 0.95).unwrap().is_some());
    assert_eq!(cache.stats().unwrap().semantic_entries, 1);
    assert_eq!(cache.clear().unwrap(), 1);
    assert_eq!(cache.stats().unwrap().semantic_entries, 0);
}

#[test]
fn the_same_prompt_replaces_its_answer() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let (_, cache) = cache(&db, SemanticCacheConfig::default(), 5);
    let s = scope("m");
    cache.put(&s, "q", &[1.0, 0.0], "old").unwrap();
    cache.put(&s, "q", &[1.0, 0.0], "new").unwrap();
    assert_eq!(cache.stats().unwrap().semantic_entries, 1);
    assert_eq!(
        cache
            .lookup(&s, &[1.0, 0.0], 0.95)
            .unwrap()
            .unwrap()
            .response,
        "new"
    );
}

#[tokio::test]
async fn the_port_answers_through_a_blocking_thread() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let cache: Arc<dyn ResponseCache> = Arc::new(SemanticCache::new(db));
    let s = scope("m");
    cache.put(&s, "q", &[0.6, 0.8], "a").await.unwrap();
    let hit = cache.lookup(&s, &[0.6, 0.8], 0.95).await.unwrap().unwrap();
    assert_eq!(hit.response, "a");
    assert_eq!(
        cache.lookup(&scope("n"), &[0.6, 0.8], 0.95).await.unwrap(),
        None
    );
}

#[test]
fn the_file_cache_round_trips_hashes_and_parse_results() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let (now, clock) = clock(0);
    let files = FileCache::new(db.clone()).with_clock(clock);
    let path = Path::new("/project/src/main.rs");
    let v1 = content_hash(b"fn main() {}");

    assert_eq!(files.lookup(path, 12, 7).unwrap(), None, "unknown file");
    files.record(path, 12, 7, &v1).unwrap();
    assert_eq!(
        files.lookup(path, 12, 7).unwrap(),
        Some(v1.clone()),
        "unchanged"
    );
    assert_eq!(files.lookup(path, 13, 7).unwrap(), None, "size changed");
    assert_eq!(files.lookup(path, 12, 8).unwrap(), None, "mtime changed");

    assert_eq!(files.parse(path, &v1, "symbols-v1").unwrap(), None);
    assert!(
        files
            .store_parse(path, &v1, "symbols-v1", b"[main]")
            .unwrap()
    );
    assert!(
        files
            .store_parse(path, &v1, "chunks-v1", b"[0..12]")
            .unwrap()
    );
    assert_eq!(
        files.parse(path, &v1, "symbols-v1").unwrap(),
        Some(b"[main]".to_vec())
    );
    assert!(
        !files
            .store_parse(path, "other-hash", "symbols-v1", b"x")
            .unwrap(),
        "a parse of content the cache does not know is not kept"
    );
    assert!(
        !files
            .store_parse(Path::new("/unknown"), &v1, "symbols-v1", b"x")
            .unwrap()
    );

    let s = stats(&db, 0).unwrap();
    assert_eq!((s.file_entries, s.parse_entries, s.parse_bytes), (1, 2, 13));

    // New content: the old parses are dropped with the old hash.
    now.store(10, Ordering::SeqCst);
    let v2 = content_hash(b"fn main() { run() }");
    files.record(path, 19, 9, &v2).unwrap();
    assert_eq!(files.parse(path, &v1, "symbols-v1").unwrap(), None);
    assert_eq!(files.parse(path, &v2, "symbols-v1").unwrap(), None);
    assert_eq!(stats(&db, 0).unwrap().parse_entries, 0);

    // Unused files are pruned; deleted ones forgotten.
    let other = Path::new("/project/src/lib.rs");
    files.record(other, 1, 1, &content_hash(b"x")).unwrap();
    now.store(10 + 60_000, Ordering::SeqCst);
    files.record(other, 1, 1, &content_hash(b"x")).unwrap();
    assert_eq!(
        files.prune(Duration::from_secs(30)).unwrap(),
        1,
        "main.rs unused for 60 s"
    );
    assert_eq!(files.lookup(path, 19, 9).unwrap(), None);
    assert!(files.forget(other).unwrap());
    assert_eq!(stats(&db, 0).unwrap().file_entries, 0);
}

#[test]
fn the_file_cache_refuses_relative_paths() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    let files = FileCache::new(db);
    let err = files.lookup(Path::new("src/main.rs"), 1, 1).unwrap_err();
    assert!(matches!(err, Error::RelativeCachePath(_)), "{err:?}");
    assert!(err.to_string().contains("absolute path"), "{err}");
}

#[test]
fn file_stamps_change_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, "one").unwrap();
    let first = file_stamp(&std::fs::metadata(&path).unwrap());
    assert_eq!(first.0, 3);
    std::fs::write(&path, "three").unwrap();
    let second = file_stamp(&std::fs::metadata(&path).unwrap());
    assert_ne!(first, second);
}

#[test]
fn clear_empties_both_caches_and_nothing_else() {
    let db = Arc::new(Db::open_in_memory().unwrap());
    db.create_session(
        &cuervo_domain::SessionId("s".into()),
        "/p",
        &serde_json::json!({}),
    )
    .unwrap();
    let semantic = SemanticCache::new(db.clone());
    semantic.put(&scope("m"), "q", &[1.0], "a").unwrap();
    FileCache::new(db.clone())
        .record(Path::new("/a"), 1, 1, "h")
        .unwrap();
    let cleared = clear(&db).unwrap();
    assert_eq!((cleared.semantic_entries, cleared.file_entries), (1, 1));
    assert_eq!(stats(&db, 0).unwrap(), Default::default());
    assert!(
        db.session(&cuervo_domain::SessionId("s".into()))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_version_2_database_gains_the_cache_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cuervo.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        cuervo_store::migrate::migrate(&tx, 2).unwrap();
        tx.commit().unwrap();
    }
    let db = Arc::new(Db::open(&path).unwrap());
    assert_eq!(
        db.schema_version().unwrap(),
        cuervo_store::migrate::SCHEMA_VERSION
    );
    let semantic = SemanticCache::new(db.clone());
    semantic.put(&scope("m"), "q", &[1.0, 0.0], "a").unwrap();
    assert!(
        semantic
            .lookup(&scope("m"), &[1.0, 0.0], 0.95)
            .unwrap()
            .is_some()
    );
    assert_eq!(db.integrity_check().unwrap(), "ok");
}
