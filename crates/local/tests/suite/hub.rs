//! Hub downloads against a local mock of the hub's `resolve` and model APIs: progress,
//! resume with `Range` after a cut connection, SHA-256 checks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use cuervo_local::{Error, HubClient, Progress};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use sha2::{Digest, Sha256};

/// One request the mock saw: method, path, `Range` header.
pub type Seen = (String, String, Option<String>);

#[derive(Default)]
pub struct Mock {
    /// `owner/name/file` -> bytes.
    pub files: HashMap<String, Vec<u8>>,
    /// Whether a file advertises its SHA-256 as an LFS etag.
    pub lfs: HashMap<String, String>,
    /// Cut the body of the next N full downloads half-way.
    pub cuts: AtomicUsize,
    pub seen: Mutex<Vec<Seen>>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Mock {
    pub fn add(&mut self, repo: &str, file: &str, bytes: Vec<u8>, lfs: bool) {
        let key = format!("{repo}/{file}");
        if lfs {
            self.lfs.insert(key.clone(), sha256_hex(&bytes));
        }
        self.files.insert(key, bytes);
    }

    /// Starts the server on 127.0.0.1 and returns its base URL.
    pub async fn serve(self) -> (String, Arc<Mock>) {
        let state = Arc::new(self);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), state)
    }
}

async fn handle(State(mock): State<Arc<Mock>>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches('/').to_owned();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    mock.seen
        .lock()
        .unwrap()
        .push((req.method().to_string(), path.clone(), range.clone()));
    let status = |s: StatusCode| Response::builder().status(s).body(Body::empty()).unwrap();
    if let Some(repo) = path.strip_prefix("api/models/") {
        let prefix = format!("{repo}/");
        let siblings: Vec<_> = mock
            .files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|f| serde_json::json!({ "rfilename": f }))
            .collect();
        if siblings.is_empty() {
            return status(StatusCode::NOT_FOUND);
        }
        let body = serde_json::json!({ "id": repo, "siblings": siblings }).to_string();
        return Response::new(Body::from(body));
    }
    let parts: Vec<&str> = path.splitn(5, '/').collect();
    let [owner, name, "resolve", _rev, file] = parts[..] else {
        return status(StatusCode::NOT_FOUND);
    };
    let key = format!("{owner}/{name}/{file}");
    let Some(bytes) = mock.files.get(&key) else {
        return status(StatusCode::NOT_FOUND);
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, "bytes".parse().unwrap());
    if let Some(sha) = mock.lfs.get(&key) {
        headers.insert("x-linked-etag", format!("\"{sha}\"").parse().unwrap());
    }
    let mut builder = Response::builder();
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    if req.method() == Method::HEAD {
        return builder
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::empty())
            .unwrap();
    }
    let start = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match start {
        Some(s) if s >= bytes.len() => status(StatusCode::RANGE_NOT_SATISFIABLE),
        Some(s) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {s}-{}/{}", bytes.len() - 1, bytes.len()),
            )
            .header(header::CONTENT_LENGTH, bytes.len() - s)
            .body(Body::from(bytes[s..].to_vec()))
            .unwrap(),
        None if mock
            .cuts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok() =>
        {
            // Half the file, a pause so it reaches the client, then the connection drops.
            let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let body = futures::stream::iter([Ok::<_, std::io::Error>(half)]).chain(
                futures::stream::once(async {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    Err(std::io::Error::other("connection cut by the mock"))
                }),
            );
            builder
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from_stream(body))
                .unwrap()
        }
        None => builder
            .header(header::CONTENT_LENGTH, bytes.len())
            .body(Body::from(bytes.clone()))
            .unwrap(),
    }
}

pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn an_interrupted_download_resumes_with_range_and_is_verified() {
    let data = payload(300_000);
    let mut mock = Mock::default();
    mock.add("org/model", "weights.bin", data.clone(), true);
    mock.cuts.store(1, Ordering::SeqCst);
    let (url, mock) = mock.serve().await;
    let hub = HubClient::new(url, None);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("weights.bin");
    let mut reports: Vec<Progress> = Vec::new();

    let first = hub
        .download("org/model", "main", "weights.bin", &dest, None, &mut |p| {
            reports.push(p.clone())
        })
        .await
        .unwrap_err();
    assert!(
        first.to_string().contains("run the pull again to resume"),
        "{first}"
    );
    let part = dir.path().join("weights.bin.part");
    let kept = std::fs::metadata(&part).unwrap().len();
    assert_eq!(kept, 150_000, "the first half stays on disk");
    assert!(!dest.exists());

    reports.clear();
    let sha = hub
        .download("org/model", "main", "weights.bin", &dest, None, &mut |p| {
            reports.push(p.clone())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}; requests: {:?}", mock.seen.lock().unwrap()));
    assert_eq!(sha, sha256_hex(&data));
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert!(!part.exists());
    let last = reports.last().unwrap();
    assert_eq!(
        (last.downloaded, last.total, last.resumed_from),
        (300_000, Some(300_000), 150_000)
    );
    let gets: Vec<Option<String>> = mock
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(m, p, _)| m == "GET" && p.ends_with("weights.bin"))
        .map(|(_, _, r)| r.clone())
        .collect();
    assert_eq!(gets, vec![None, Some("bytes=150000-".to_owned())]);
}

#[tokio::test]
async fn a_wrong_checksum_fails_and_removes_the_part() {
    let mut mock = Mock::default();
    mock.add("org/model", "a.gguf", payload(1000), false);
    let (url, _) = mock.serve().await;
    let hub = HubClient::new(url, None);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.gguf");
    let wrong = "0".repeat(64);
    let err = hub
        .download(
            "org/model",
            "main",
            "a.gguf",
            &dest,
            Some(&wrong),
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Checksum { .. }), "{err}");
    assert!(!dest.exists() && !dir.path().join("a.gguf.part").exists());
    // The right one (from the caller) passes.
    let right = sha256_hex(&payload(1000));
    let sha = hub
        .download(
            "org/model",
            "main",
            "a.gguf",
            &dest,
            Some(&right.to_uppercase()),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(sha, right);
}

#[tokio::test]
async fn missing_files_and_repositories_say_so() {
    let mut mock = Mock::default();
    mock.add("org/model", "config.json", b"{}".to_vec(), false);
    let (url, _) = mock.serve().await;
    let hub = HubClient::new(url, None);
    let dir = tempfile::tempdir().unwrap();
    let got = hub
        .download_optional(
            "org/model",
            "main",
            "modules.json",
            &dir.path().join("m"),
            &mut |_| {},
        )
        .await
        .unwrap();
    assert_eq!(got, None);
    let err = hub.list_files("org/nothing").await.unwrap_err();
    assert!(err.to_string().contains("no such repository"), "{err}");
    assert_eq!(
        hub.list_files("org/model").await.unwrap(),
        vec!["config.json".to_owned()]
    );
}
