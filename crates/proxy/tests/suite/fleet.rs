//! Several replicas sharing one real Redis: a key's limits hold for the fleet, and a
//! Redis outage degrades as configured.
//!
//! Needs `redis-server` (Debian's `redis-server`; `scripts/test` installs it). The test
//! starts its own on a free port and stops it by PID; without the binary it fails and
//! says so.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cuervo_proxy::{Proxy, ProxyConfig, app};
use serde_json::{Value, json};

use super::common::{away_from_a_minute_boundary, create_key, looping_mock};

/// A `redis-server` of the test's own, stopped when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (apt-get install redis-server; scripts/test does)")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ADMIN: &str = "fleet-admin";

/// One replica: its own HTTP server over the shared database file and the given Redis.
async fn replica(db: &std::path::Path, upstream: &str, limits: &str) -> String {
    let yaml = format!(
        "database: {}\nupstreams:\n  - name: claude\n    kind: anthropic\n    base_url: {upstream}\nmodels:\n  - name: smart\n    deployments:\n      - upstream: claude\n        model: claude-sonnet-4-5\n{limits}",
        db.display()
    );
    let config = ProxyConfig::parse(&yaml).unwrap();
    config.validate().unwrap();
    let keys = [("claude".to_owned(), "upstream-key".to_owned())]
        .into_iter()
        .collect();
    let proxy = Proxy::with_keys(config, Some(ADMIN.into()), &keys).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(proxy.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn hello() -> Value {
    json!({"model": "smart", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_rpm_means_sixty_across_two_replicas() {
    let redis = RedisServer::start();
    let mock = looping_mock("ok").await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let limits = format!(
        "limits:\n  redis_url: {}\n  on_redis_error: closed\n",
        redis.url()
    );
    let a = replica(&db, &mock.anthropic_base_url(), &limits).await;
    let b = replica(&db, &mock.anthropic_base_url(), &limits).await;
    let client = reqwest::Client::new();
    let (_, key) = create_key(&client, &a, ADMIN, json!({"rpm": 60})).await;
    away_from_a_minute_boundary(30).await;
    // 100 requests, 10 at a time, alternating replicas.
    let mut statuses = Vec::new();
    for round in 0..10 {
        let calls = (0..10).map(|i| {
            let url = if (round + i) % 2 == 0 { &a } else { &b };
            client
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&key)
                .json(&hello())
                .send()
        });
        for r in futures::future::join_all(calls).await {
            statuses.push(r.unwrap().status().as_u16());
        }
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (60, 40), "{statuses:?}");
    assert_eq!(mock.requests().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tpm_limit_holds_across_replicas() {
    let redis = RedisServer::start();
    let mock = looping_mock("ok").await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let limits = format!("limits:\n  redis_url: {}\n", redis.url());
    let a = replica(&db, &mock.anthropic_base_url(), &limits).await;
    let b = replica(&db, &mock.anthropic_base_url(), &limits).await;
    let client = reqwest::Client::new();
    let (_, key) = create_key(&client, &a, ADMIN, json!({"tpm": 1})).await;
    away_from_a_minute_boundary(20).await;
    let send = |url: &str| {
        client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .json(&hello())
            .send()
    };
    // The first request spends the minute's tokens on replica A...
    assert_eq!(send(&a).await.unwrap().status(), 200);
    // ...and replica B refuses the next one.
    let r = send(&b).await.unwrap();
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "tpm_limit_exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_proxy_fails_open_or_closed_as_configured() {
    // A port where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mock = looping_mock("ok").await;
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    for (mode, want) in [("open", 200), ("closed", 503)] {
        let db = dir.path().join(format!("{mode}.db"));
        let limits =
            format!("limits:\n  redis_url: redis://127.0.0.1:{port}/0\n  on_redis_error: {mode}\n");
        let url = replica(&db, &mock.anthropic_base_url(), &limits).await;
        let (_, key) = create_key(&client, &url, ADMIN, json!({"rpm": 5})).await;
        let r = client
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(key)
            .json(&hello())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "on_redis_error: {mode}");
        let metrics = client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let failures: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("cuervo_proxy_limit_store_failures_total "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(failures >= 1, "{metrics}");
    }
}
