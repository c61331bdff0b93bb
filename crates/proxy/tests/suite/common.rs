//! Helpers the proxy's integration tests share.

use std::time::Duration;

use cuervo_testkit::script::{Script, Turn};
use cuervo_testkit::server::{MockServer, ServerOptions};
use serde_json::Value;

/// A mock upstream answering "ok" to every request, however many.
pub(crate) async fn looping_mock(answer: &str) -> MockServer {
    MockServer::start_with(
        Script::new(vec![Turn::text(answer)]),
        ServerOptions {
            port: 0,
            looping: true,
        },
    )
    .await
    .unwrap()
}

/// Waits until the next minute is at least `margin` seconds away, so a test of a
/// per-minute limit does not straddle two windows.
pub(crate) async fn away_from_a_minute_boundary(margin: u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let left = 60 - secs % 60;
    if left < margin {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// Creates a key through the admin API at `url`: (id, key).
pub(crate) async fn create_key(
    client: &reqwest::Client,
    url: &str,
    admin: &str,
    spec: Value,
) -> (String, String) {
    let r = client
        .post(format!("{url}/admin/keys"))
        .bearer_auth(admin)
        .json(&spec)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["key"].as_str().unwrap().to_owned(),
    )
}
