//! `POST /v1/embeddings`: OpenAI's embeddings API over any upstream that embeds
//! (OpenAI-compatible servers, Gemini, Ollama), one adapter per deployment so each uses
//! its own model.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use cuervo_domain::ModelProvider;
use serde::Deserialize;
use serde_json::{Value, json};

/// Adapters for embeddings, keyed by (upstream, model): the providers crate embeds with
/// the model its settings name.
pub type Embedders = HashMap<(String, String), Arc<dyn ModelProvider>>;

/// A client's request, as OpenAI accepts it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: Input,
    /// `float` (the default) or `base64` (what the OpenAI Python SDK asks for).
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Accepted and ignored: the proxy does not truncate upstream vectors.
    #[serde(default)]
    pub dimensions: Option<u32>,
    #[serde(default)]
    pub user: Option<String>,
}

/// One text or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Input {
    One(String),
    Many(Vec<String>),
}

/// Texts to embed at most per request.
pub const MAX_INPUTS: usize = 2048;

impl EmbeddingsRequest {
    /// The texts, or why the request cannot be served.
    pub fn texts(&self) -> Result<Vec<String>, String> {
        let texts = match &self.input {
            Input::One(t) => vec![t.clone()],
            Input::Many(v) => v.clone(),
        };
        if texts.is_empty() {
            return Err("input: give at least one text".into());
        }
        if texts.len() > MAX_INPUTS {
            return Err(format!("input: at most {MAX_INPUTS} texts per request"));
        }
        match self.encoding_format.as_deref() {
            None | Some("float" | "base64") => Ok(texts),
            Some(other) => Err(format!(
                "encoding_format: `{other}` is not `float` or `base64`"
            )),
        }
    }

    /// Whether vectors go back as base64 (little-endian `f32`s).
    pub fn base64(&self) -> bool {
        self.encoding_format.as_deref() == Some("base64")
    }
}

/// The response body, in OpenAI's shape. Token counts are estimated (about four bytes a
/// token): embedding APIs other than OpenAI's do not report them.
pub fn response(model: &str, vectors: &[Vec<f32>], texts: &[String], base64: bool) -> Value {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    let tokens = estimated_tokens(texts);
    json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

/// About four bytes a token, at least one per text.
pub fn estimated_tokens(texts: &[String]) -> u64 {
    texts
        .iter()
        .map(|t| (t.len() as u64).div_ceil(4).max(1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_formats() {
        let r: EmbeddingsRequest =
            serde_json::from_value(json!({"model": "e", "input": "hi"})).unwrap();
        assert_eq!(r.texts().unwrap(), ["hi"]);
        let r: EmbeddingsRequest = serde_json::from_value(
            json!({"model": "e", "input": ["a", "b"], "encoding_format": "base64"}),
        )
        .unwrap();
        assert!(r.base64());
        assert_eq!(r.texts().unwrap().len(), 2);
        let r: EmbeddingsRequest =
            serde_json::from_value(json!({"model": "e", "input": []})).unwrap();
        assert!(r.texts().is_err());
        assert!(
            serde_json::from_value::<EmbeddingsRequest>(json!({"model": "e", "input": [[1, 2]]}))
                .is_err()
        );
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let body = response("e", &[vec![1.0, -2.5]], &["abcd".into()], true);
        let text = body["data"][0]["embedding"].as_str().unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
        assert_eq!(body["usage"]["prompt_tokens"], 1);
        let plain = response("e", &[vec![0.5]], &["x".into()], false);
        assert_eq!(plain["data"][0]["embedding"], json!([0.5]));
    }
}
