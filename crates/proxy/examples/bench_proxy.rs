//! The two halves of `scripts/bench-proxy`:
//!
//! - `bench_proxy upstream PORT`: a fast OpenAI-compatible upstream on loopback that
//!   answers every `POST /v1/chat/completions` at once with the same small completion
//!   (no recording, no script), so what a gateway adds stands out;
//! - `bench_proxy load URL KEY MODEL CONCURRENCY SECONDS [EXTRA_HEADER: VALUE]...`: a
//!   closed-loop load generator (CONCURRENCY workers, each sending its next request when
//!   the last answer is read), printing one JSON line: requests, errors, rate, p50, p99
//!   and max latency in microseconds.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const COMPLETION: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the fast upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#;

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("upstream") => {
            let port: u16 = args.get(1).ok_or("upstream PORT")?.parse()?;
            runtime.block_on(upstream(port))
        }
        Some("load") => {
            let [url, key, model, concurrency, seconds] = match &args[1..] {
                [a, b, c, d, e, ..] => [a, b, c, d, e],
                _ => return Err("load URL KEY MODEL CONCURRENCY SECONDS [HEADER: VALUE]...".into()),
            };
            let headers: Vec<(String, String)> = args[6..]
                .iter()
                .filter_map(|h| h.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            runtime.block_on(load(
                url.clone(),
                key.clone(),
                model.clone(),
                concurrency.parse()?,
                Duration::from_secs_f64(seconds.parse()?),
                headers,
            ))
        }
        _ => Err("usage: bench_proxy upstream PORT | load URL KEY MODEL CONCURRENCY SECONDS [HEADER: VALUE]...".into()),
    }
}

async fn upstream(port: u16) -> BoxResult<()> {
    let app = Router::new().route(
        "/v1/chat/completions",
        post(|| async { ([("content-type", "application/json")], COMPLETION) }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn load(
    url: String,
    key: String,
    model: String,
    concurrency: usize,
    duration: Duration,
    headers: Vec<(String, String)>,
) -> BoxResult<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency.max(1))
        .build()?;
    let body = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16,
    })
    .to_string();
    // Warm the connections.
    for _ in 0..concurrency.max(1) {
        let _ = send(&client, &url, &key, &body, &headers).await;
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, key, body, headers) = (
            client.clone(),
            url.clone(),
            key.clone(),
            body.clone(),
            headers.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match send(&client, &url, &key, &body, &headers).await {
                    Ok(true) => latencies.push(t.elapsed().as_micros() as u64),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |q: f64| {
        if all.is_empty() {
            0
        } else {
            all[((all.len() as f64 * q) as usize).min(all.len() - 1)]
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "concurrency": concurrency,
            "requests": all.len(),
            "errors": errors,
            "rate": all.len() as f64 / elapsed,
            "p50_us": pct(0.50),
            "p99_us": pct(0.99),
            "max_us": all.last().copied().unwrap_or(0),
        })
    );
    Ok(())
}

/// One request; `Ok(true)` for a 200 with a body read to the end.
async fn send(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &str,
    headers: &[(String, String)],
) -> BoxResult<bool> {
    let mut request = client
        .post(url)
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (n, v) in headers {
        request = request.header(n, v);
    }
    let response = request.send().await?;
    let ok = response.status().is_success();
    response.bytes().await?;
    Ok(ok)
}
