//! Streaming an answer to the client as server-sent events, in either API's framing.
//!
//! A task drives the upstream's chunk stream and feeds the response body through a small
//! channel. If the client goes away, the upstream stream is dropped (which closes that
//! connection) and what was used so far is still recorded.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use cuervo_domain::{ChunkStream, ModelChunk, ModelError, Usage};
use futures::{SinkExt, StreamExt};

use crate::anthropic_api::{self, EventEncoder};
use crate::config::DeploymentConfig;
use crate::model_routes::{Accounting, upstream_error};
use crate::openai_api::{ChatChunk, ChunkEncoder};
use crate::server::Shape;

/// One API's stream framing.
pub(crate) trait Framing: Send + 'static {
    /// Frames before the first chunk.
    fn open(&mut self) -> Vec<Bytes>;
    fn chunk(&mut self, chunk: ModelChunk) -> Vec<Bytes>;
    /// After the upstream's last chunk: the closing frames.
    fn close(&mut self) -> Vec<Bytes>;
    /// The frame that reports an error once the response has begun, and the status to
    /// record for it.
    fn error(&mut self, error: &ModelError) -> (u16, Bytes);
    fn usage(&self) -> Usage;
}

/// OpenAI's Chat Completions chunks, `data: {json}` frames, `data: [DONE]` at the end.
pub(crate) struct OpenAiStream(pub ChunkEncoder);

fn data_frame(chunk: &ChatChunk) -> Bytes {
    let json = serde_json::to_string(chunk).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("data: {json}\n\n"))
}

impl Framing for OpenAiStream {
    fn open(&mut self) -> Vec<Bytes> {
        Vec::new()
    }
    fn chunk(&mut self, chunk: ModelChunk) -> Vec<Bytes> {
        self.0.push(chunk).iter().map(data_frame).collect()
    }
    fn close(&mut self) -> Vec<Bytes> {
        let mut frames: Vec<Bytes> = self.0.finish().iter().map(data_frame).collect();
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
        frames
    }
    fn error(&mut self, error: &ModelError) -> (u16, Bytes) {
        // The response has begun: the error goes in the stream, as OpenAI does.
        let err = upstream_error(error, Shape::OpenAi);
        (
            err.status.as_u16(),
            Bytes::from(format!("data: {}\n\n", err.body())),
        )
    }
    fn usage(&self) -> Usage {
        self.0.usage()
    }
}

/// Anthropic's Messages events: `event: NAME` / `data: {json}` frames.
pub(crate) struct AnthropicStream(pub EventEncoder);

fn event_frames(events: Vec<anthropic_api::SseEvent>) -> Vec<Bytes> {
    events
        .into_iter()
        .map(|(name, data)| Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
        .collect()
}

impl Framing for AnthropicStream {
    fn open(&mut self) -> Vec<Bytes> {
        event_frames(self.0.start())
    }
    fn chunk(&mut self, chunk: ModelChunk) -> Vec<Bytes> {
        event_frames(self.0.push(chunk))
    }
    fn close(&mut self) -> Vec<Bytes> {
        event_frames(self.0.finish())
    }
    fn error(&mut self, error: &ModelError) -> (u16, Bytes) {
        let (status, _, body) = anthropic_api::error_response(error);
        let (name, data) = anthropic_api::error_event(&body);
        (
            status,
            Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        )
    }
    fn usage(&self) -> Usage {
        self.0.usage()
    }
}

/// The streamed response: `first` (already received) and the rest of the upstream's
/// chunks, framed by `framing`.
pub(crate) fn respond<F: Framing>(
    mut framing: F,
    first: ModelChunk,
    mut rest: ChunkStream,
    accounting: Accounting,
    dep: DeploymentConfig,
) -> Response {
    let (mut tx, rx) = futures::channel::mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let mut status = 200;
        let mut frames = framing.open();
        frames.extend(framing.chunk(first));
        let mut client_gone = false;
        loop {
            for frame in frames.drain(..) {
                if tx.send(frame).await.is_err() {
                    client_gone = true;
                    break;
                }
            }
            if client_gone {
                status = 499;
                break;
            }
            match rest.next().await {
                Some(Ok(chunk)) => frames = framing.chunk(chunk),
                Some(Err(e)) => {
                    let (code, frame) = framing.error(&e);
                    status = code;
                    let _ = tx.send(frame).await;
                    break;
                }
                None => {
                    for frame in framing.close() {
                        if tx.send(frame).await.is_err() {
                            status = 499;
                            break;
                        }
                    }
                    break;
                }
            }
        }
        drop(rest);
        accounting.finish(status, framing.usage(), Some(&dep)).await;
    });
    let body = Body::from_stream(rx.map(Ok::<_, std::convert::Infallible>));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
