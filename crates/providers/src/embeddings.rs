//! Embeddings over the OpenAI-shaped `/embeddings` endpoint, shared by the Chat
//! Completions and Responses adapters. Gemini and Ollama have their own endpoints in their
//! adapters; all of them use the transport's one-shot JSON call (same retries, same error
//! mapping as model calls).

use cuervo_domain::{BoxFuture, ModelError};
use reqwest::header::HeaderMap;

use crate::transport::{self, Transport};
use crate::wire::openai as wire;

/// The model OpenAI adapters embed with unless `embedding_model` says otherwise.
pub(crate) const OPENAI_DEFAULT_MODEL: &str = "text-embedding-3-small";

/// `POST {url}` with `{model, input}`; the vectors come back in input order whatever order
/// the server lists them in.
pub(crate) fn openai<'a>(
    transport: &'a Transport,
    url: String,
    headers: Result<HeaderMap, ModelError>,
    model: &'a str,
    texts: &'a [String],
) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ModelError>> {
    Box::pin(async move {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let body = transport::body(
            transport.name(),
            &wire::EmbeddingsRequest {
                model: model.to_owned(),
                input: texts.to_vec(),
                encoding_format: Some("float".to_owned()),
            },
        )?;
        let reply = transport.json(url, headers?, Some(body)).await?;
        let text = String::from_utf8_lossy(&reply);
        let mut response: wire::EmbeddingsResponse =
            transport::parse_json(transport.name(), "the embeddings response", &text)?;
        response.data.sort_by_key(|e| e.index);
        let vectors: Vec<Vec<f32>> = response.data.into_iter().map(|e| e.embedding).collect();
        check_count(transport.name(), texts.len(), vectors)
    })
}

/// Fails with `Protocol` unless there is one vector per text.
pub(crate) fn check_count(
    provider: &str,
    expected: usize,
    vectors: Vec<Vec<f32>>,
) -> Result<Vec<Vec<f32>>, ModelError> {
    if vectors.len() == expected {
        Ok(vectors)
    } else {
        Err(transport::protocol(
            provider,
            format!(
                "asked to embed {expected} text(s), got {} vector(s)",
                vectors.len()
            ),
        ))
    }
}
