//! Ollama's native API: `POST /api/chat` (NDJSON stream, on by default), `GET /api/tags`,
//! `POST /api/show`, `POST /api/embed`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The request body of `/api/chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Ollama streams unless told `false`; Cuervo always says which.
    #[serde(default = "yes")]
    pub stream: bool,
    /// Thinking models: return the thinking in `message.thinking` (or think not at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Options>,
}

fn yes() -> bool {
    true
}

/// Model options (the Modelfile parameters) for this request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// The context window to load the model with. Ollama's default is far smaller than
    /// most models' windows and silently truncates the prompt to it, so Cuervo sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_ctx: Option<u64>,
    /// Most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// A message, in requests and responses alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Base64 images, without a `data:` prefix or a media type.
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub images: Vec<String>,
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tool_calls: Vec<ToolCall>,
    /// On a `tool` message: the function whose result this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// A tool call of an assistant message. Calls carry no id; results answer them in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Not part of Ollama's documented API; read when a server sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub function: FunctionCall,
}

/// The called function: its name and its arguments as a JSON *object*.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
}

/// A function the model may call (the OpenAI shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    pub function: FunctionDef,
}

/// A function's name, purpose and JSON Schema parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub parameters: Value,
}

/// One line of a streamed answer, or the whole answer: a piece of the message, and on
/// the last line (`done: true`) the stop reason and the token counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub done: bool,
    /// `stop`, `length`, `load`, `unload`.
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Prompt tokens evaluated (Ollama reuses the cached prefix of the previous call,
    /// which it does not count again).
    #[serde(default)]
    pub prompt_eval_count: u64,
    /// Tokens generated.
    #[serde(default)]
    pub eval_count: u64,
    /// A failure, mid-stream or as the whole body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowRequest {
    pub model: String,
}

/// What `/api/show` says about a model. `model_info` holds the GGUF metadata, where
/// `{architecture}.context_length` is the window the model was trained for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShowResponse {
    #[serde(default)]
    pub model_info: Map<String, Value>,
    /// `completion`, `tools`, `vision`, `thinking`, `embedding` (newer servers).
    #[serde(default)]
    pub capabilities: Option<Vec<String>>,
    /// The Modelfile parameters, one `name value` per line.
    #[serde(default)]
    pub parameters: String,
}

impl ShowResponse {
    /// `model_info["{general.architecture}.context_length"]`, or any `*.context_length`.
    pub fn context_length(&self) -> Option<u64> {
        let arch = self
            .model_info
            .get("general.architecture")
            .and_then(Value::as_str);
        arch.and_then(|a| self.model_info.get(&format!("{a}.context_length")))
            .or_else(|| {
                self.model_info
                    .iter()
                    .find(|(k, _)| k.ends_with(".context_length"))
                    .map(|(_, v)| v)
            })
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
    }

    /// The `num_ctx` the Modelfile sets, if any.
    pub fn num_ctx_parameter(&self) -> Option<u64> {
        self.parameters.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("num_ctx"))
                .then(|| words.next().and_then(|n| n.parse().ok()))
                .flatten()
        })
    }
}

/// `GET /api/tags`: the models pulled on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagsResponse {
    #[serde(default)]
    pub models: Vec<TagModel>,
}

/// One local model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TagModel {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub model: String,
}

/// `POST /api/embed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedRequest {
    pub model: String,
    pub input: Vec<String>,
}

/// One vector per input, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedResponse {
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub embeddings: Vec<Vec<f32>>,
}
