use std::time::{Duration, Instant};

use cuervo_testkit::{MockServer, Script, ServerOptions, Turn};
use pretty_assertions::assert_eq;
use serde_json::Value;
use tokio::time::timeout;

use super::{anthropic, anthropic_body, anthropic_events, openai, openai_body};

async fn server(turns: Vec<Turn>) -> MockServer {
    MockServer::start(Script::new(turns)).await.unwrap()
}

/// Reads the body until it has `n` complete frames (or fails after 5 s).
async fn read_frames(response: &mut reqwest::Response, n: usize) -> String {
    let mut text = String::new();
    while text.matches("\n\n").count() < n {
        let chunk = timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("frames arrive")
            .expect("body readable")
            .expect("body not finished");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    text
}

/// Reads the rest of the body, returning what arrived and whether it ended in an error.
async fn read_to_end(response: &mut reqwest::Response) -> (String, bool) {
    let mut text = String::new();
    loop {
        match timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("body ends")
        {
            Ok(Some(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(None) => return (text, false),
            Err(_) => return (text, true),
        }
    }
}

#[tokio::test]
async fn status_faults_have_provider_bodies() {
    let server = server(vec![
        Turn::status(401),
        Turn::overloaded(),
        Turn::status_with_message(500, "kaboom"),
        Turn::status(401),
        Turn::status(503),
    ])
    .await;
    let expect = [
        (401, "authentication_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
    ];
    for (status, kind) in expect {
        let response = anthropic(&server, anthropic_body(true)).await;
        assert_eq!(response.status().as_u16(), status);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], kind);
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        if status == 500 {
            assert_eq!(body["error"]["message"], "kaboom");
        }
    }
    for (status, kind) in [(401, "invalid_request_error"), (503, "server_error")] {
        let response = openai(&server, openai_body(true, true)).await;
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], kind);
        assert!(body["error"]["param"].is_null());
        assert!(body["error"].get("code").is_some());
    }
}

#[tokio::test]
async fn rate_limit_sends_retry_after_in_both_formats() {
    let server = server(vec![Turn::rate_limited(7), Turn::rate_limited(3)]).await;
    let response = anthropic(&server, anthropic_body(true)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");

    let response = openai(&server, openai_body(true, false)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn stall_goes_silent_with_the_connection_open() {
    let server = server(vec![Turn::stall(2, 60), Turn::text("after the stall")]).await;
    let mut response = anthropic(&server, anthropic_body(true)).await;
    assert_eq!(response.status(), 200);
    let text = read_frames(&mut response, 2).await;
    let events = anthropic_events(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["message_start", "content_block_start"]);
    assert!(
        timeout(Duration::from_millis(600), response.chunk())
            .await
            .is_err(),
        "nothing arrives during the stall"
    );
    // The server keeps serving other requests meanwhile.
    let other: Value = anthropic(&server, anthropic_body(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["content"][0]["text"], "after the stall");
    // Dropping the server ends the stalled response promptly.
    drop(server);
    let end = timeout(Duration::from_secs(3), response.chunk())
        .await
        .expect("stalled body ends when the server drops");
    assert!(!matches!(end, Ok(Some(_))), "no more data: {end:?}");
}

#[tokio::test]
async fn stall_ends_by_dropping_the_connection() {
    let server = server(vec![Turn::stall(1, 1), Turn::stall(0, 1)]).await;
    let started = Instant::now();
    let mut response = openai(&server, openai_body(true, true)).await;
    let (text, failed) = read_to_end(&mut response).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(failed, "the stream is broken, not finished");
    assert_eq!(text.matches("\n\n").count(), 1);
    assert!(!text.contains("[DONE]"));
    // Non-streaming: no body at all, then the drop.
    let response = openai(&server, openai_body(false, false)).await;
    assert_eq!(response.status(), 200);
    assert!(response.json::<Value>().await.is_err());
}

#[tokio::test]
async fn cut_sends_half_a_frame_then_closes() {
    let server = server(vec![Turn::cut(3), Turn::cut(2), Turn::cut(0)]).await;
    let mut response = openai(&server, openai_body(true, false)).await;
    assert_eq!(response.status(), 200);
    let (text, failed) = read_to_end(&mut response).await;
    assert!(failed, "a cut stream ends in an error");
    let pieces: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(pieces.len(), 4, "{text:?}");
    for complete in &pieces[..3] {
        let data = complete.strip_prefix("data: ").unwrap();
        serde_json::from_str::<Value>(data).unwrap();
    }
    let partial = pieces[3];
    assert!(partial.starts_with("data: {"), "{partial:?}");
    assert!(serde_json::from_str::<Value>(&partial["data: ".len()..]).is_err());

    let mut response = anthropic(&server, anthropic_body(true)).await;
    let (text, failed) = read_to_end(&mut response).await;
    assert!(failed);
    assert_eq!(text.matches("\n\n").count(), 2);
    assert!(!text.ends_with("\n\n"));

    let response = anthropic(&server, anthropic_body(false)).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.text().await.is_err(),
        "non-streaming body is cut too"
    );
}

#[tokio::test]
async fn malformed_sends_data_that_is_not_json() {
    let server = server(vec![
        Turn::malformed(),
        Turn::malformed(),
        Turn::malformed(),
    ])
    .await;
    let text = anthropic(&server, anthropic_body(true))
        .await
        .text()
        .await
        .unwrap();
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    assert!(serde_json::from_str::<Value>(data).is_err());

    let text = openai(&server, openai_body(true, true))
        .await
        .text()
        .await
        .unwrap();
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    assert!(serde_json::from_str::<Value>(data).is_err());

    let response = openai(&server, openai_body(false, false)).await;
    assert_eq!(response.status(), 200);
    assert!(response.json::<Value>().await.is_err());
}

#[tokio::test]
async fn exhausted_script_answers_500_with_a_clear_message() {
    let server = server(vec![Turn::text("only one")]).await;
    assert_eq!(anthropic(&server, anthropic_body(true)).await.status(), 200);
    let response = anthropic(&server, anthropic_body(true)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "api_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mock script exhausted")
    );
    let response = openai(&server, openai_body(false, false)).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mock script exhausted")
    );
    assert_eq!(server.remaining_turns(), 0);
    server.assert_all_turns_served();
}

#[tokio::test]
async fn looping_starts_over() {
    let options = ServerOptions {
        port: 0,
        looping: true,
    };
    let server =
        MockServer::start_with(Script::new(vec![Turn::text("a"), Turn::text("b")]), options)
            .await
            .unwrap();
    let mut texts = Vec::new();
    for _ in 0..3 {
        let body: Value = anthropic(&server, anthropic_body(false))
            .await
            .json()
            .await
            .unwrap();
        texts.push(body["content"][0]["text"].as_str().unwrap().to_string());
    }
    assert_eq!(texts, ["a", "b", "a"]);
    assert_eq!(server.remaining_turns(), 1);
}

#[tokio::test]
async fn delay_paces_the_frames() {
    let server = server(vec![
        Turn::text("one two three four five six seven eight nine ten").with_delay_ms(40),
    ])
    .await;
    let started = Instant::now();
    let text = openai(&server, openai_body(true, false))
        .await
        .text()
        .await
        .unwrap();
    let frames = text.matches("\n\n").count();
    assert!(frames >= 6);
    assert!(
        started.elapsed() >= Duration::from_millis(40 * (frames as u64 - 1)),
        "{:?} for {frames} frames",
        started.elapsed()
    );
}

#[test]
fn serves_while_the_test_thread_blocks() {
    // A current-thread runtime that then blocks (as a test running the cuervo binary
    // with std::process does): the server lives on its own thread and still answers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(MockServer::start(Script::new(vec![])))
        .unwrap();
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""));
    let addr = server.addr();
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed once the server drops"
    );
}

#[tokio::test]
async fn cut_reply_breaks_a_real_answer_mid_arguments() {
    let edit = serde_json::json!({"path": "src/lib.rs", "old_string": "41", "new_string": "42"});
    let turn = || Turn::cut_reply(Turn::tool_call("edit", edit.clone()), 4);
    let server = server(vec![
        turn(),
        turn(),
        turn(),
        Turn::cut_reply(Turn::text("x"), 99),
    ])
    .await;

    let mut response = anthropic(&server, anthropic_body(true)).await;
    let (text, failed) = read_to_end(&mut response).await;
    assert!(failed);
    let (complete, partial) = text.rsplit_once("\n\n").unwrap();
    let names: Vec<String> = anthropic_events(&format!("{complete}\n\n"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta"
        ]
    );
    assert!(
        partial.starts_with("event: content_block_delta\ndata: {"),
        "{partial:?}"
    );

    let mut response = openai(&server, openai_body(true, true)).await;
    let (text, failed) = read_to_end(&mut response).await;
    assert!(failed);
    assert_eq!(text.matches("\n\n").count(), 4);
    assert!(text.contains("\"name\":\"edit\""));
    assert!(!text.contains("[DONE]"));

    let response = openai(&server, openai_body(false, false)).await;
    assert!(response.text().await.is_err());

    // A cut past the end still cuts the last frame.
    let mut response = anthropic(&server, anthropic_body(true)).await;
    let (text, failed) = read_to_end(&mut response).await;
    assert!(failed);
    assert!(text.contains("message_delta") && !text.ends_with("\n\n"));
}
