//! The client's request: its server-side types, parsing, and translation to the domain
//! request.

use super::reasoning::unseal;
use super::*;

/// A Messages API request as the proxy reads it.
///
/// Only what the proxy acts on is kept. `tool_choice`, `metadata`, `stop_sequences`,
/// `top_p`, `top_k`, `cache_control` marks and any field added to the API later are
/// accepted and ignored: the domain request has no place for them, and refusing them would
/// refuse every Claude Code request (it sends `metadata` and cache marks on every call).
/// The upstream adapter places its own cache marks where the upstream has a cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The proxy's public model name.
    pub model: String,
    /// The output limit, thinking included (required by Anthropic's API, and here).
    pub max_tokens: u32,
    pub messages: Vec<InputMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
}

impl MessagesRequest {
    /// The public model name the client asked for (what keys and routes are checked
    /// against; the upstream's own name is given to [`to_model_request`]).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the client wants server-sent events ([`EventEncoder`]) rather than one
    /// JSON message ([`MessageBuilder`]).
    pub fn stream(&self) -> bool {
        self.stream
    }
}

/// One turn of the conversation. Its blocks stay JSON until [`to_model_request`] reads
/// them, so a block the proxy cannot serve is refused by its own path and type rather than
/// by a generic "did not match" from the deserialiser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    pub role: wire::Role,
    pub content: Content,
}

/// Content (of a message or the system prompt): a plain string, or typed blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<Value>),
}

/// A tool as a client declares it. `kind` is absent (or `custom`) for the client's own
/// tools; any other type is one of Anthropic's server or built-in tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
}

/// The extended-thinking switch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThinkingConfig {
    /// Think for up to `budget_tokens`, counted within `max_tokens`.
    Enabled {
        budget_tokens: u32,
    },
    Disabled,
    /// The model decides how much to think (Claude 4.6 and later).
    Adaptive,
}

/// The fields a request cannot do without, checked before deserialising so that their
/// absence is reported by name (`max_tokens` is optional in OpenAI's API, and clients
/// moving from it forget it).
const REQUIRED: [&str; 3] = ["model", "max_tokens", "messages"];

/// Parses a request body into a [`MessagesRequest`], with errors a client can act on:
/// `null` members of the body and of each message read as absent, a missing required
/// field is named, and a malformed one is reported with its path.
pub fn parse_request(body: &[u8]) -> Result<MessagesRequest, BadRequest> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| BadRequest::general(format!("the body is not valid JSON: {e}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(BadRequest::general("the body must be a JSON object"));
    };
    strip_nulls(object);
    for field in REQUIRED {
        if !object.contains_key(field) {
            return Err(BadRequest::new(format!("`{field}` is required"), field));
        }
    }
    if let Some(Value::Array(messages)) = object.get_mut("messages") {
        for message in messages.iter_mut().filter_map(Value::as_object_mut) {
            strip_nulls(message);
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = format!("the request is malformed: {}", e.into_inner());
        if path.is_empty() || path == "." {
            BadRequest::general(message)
        } else {
            BadRequest::new(message, path)
        }
    })
}

/// Removes the `null` members of one object (not recursively: a JSON Schema may mean a
/// `null` it contains).
fn strip_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, v| !v.is_null());
}

/// The client's Messages request as the domain request for `upstream_model` (the model
/// name the chosen upstream knows; the client's `model` is the proxy's public name).
///
/// - `system`, a string or text blocks (joined with blank lines), is the system prompt.
/// - A user message's `tool_result` blocks become one [`Role::Tool`] message, the domain's
///   place for results, right after the assistant message that asked for them; the rest
///   of the message (Claude Code adds reminders after its results) follows as a
///   [`Role::User`] message. This is how the Anthropic adapter's own mapping reads back:
///   it merges the two into one `user` message, results first. A result's content is its
///   text (text blocks joined with blank lines); its images follow the results in the
///   tool message, where every adapter sends images that come with results.
/// - Images must have a base64 source: the proxy does not fetch URLs or files on a
///   client's behalf.
/// - Assistant thinking keeps its signature; a `redacted_thinking` block is Anthropic's
///   encrypted reasoning and joins the thinking block before it, as the agent loop
///   assembles them from a stream. Reasoning the proxy sealed for another upstream comes
///   back unsealed (see the module documentation).
/// - With `thinking` enabled, the budget comes out of `max_tokens`: the domain counts the
///   answer's allowance apart from the thinking budget, and the upstream adapters add the
///   two back up. `disabled` asks for no thinking (`Some(0)`); `adaptive` and no
///   `thinking` leave it to the upstream's configuration.
///
/// Empty text blocks and messages left empty are dropped (upstreams refuse them; a
/// conversation left with none is a 400), and tool calls and results must pair up as every
/// upstream demands, checked here so the client gets a clear 400 rather than an
/// upstream's.
pub fn to_model_request(
    req: &MessagesRequest,
    upstream_model: &str,
) -> Result<ModelRequest, BadRequest> {
    if req.messages.is_empty() {
        return Err(BadRequest::new(
            "`messages` must contain at least one message",
            "messages",
        ));
    }
    if req.max_tokens == 0 {
        return Err(BadRequest::new(
            "`max_tokens` must be at least 1",
            "max_tokens",
        ));
    }
    let (thinking_budget, max_tokens) = match req.thinking {
        None | Some(ThinkingConfig::Adaptive) => (None, req.max_tokens),
        Some(ThinkingConfig::Disabled) => (Some(0), req.max_tokens),
        Some(ThinkingConfig::Enabled { budget_tokens: 0 }) => {
            return Err(BadRequest::new(
                "`thinking.budget_tokens` must be at least 1 when thinking is enabled",
                "thinking.budget_tokens",
            ));
        }
        Some(ThinkingConfig::Enabled { budget_tokens }) if budget_tokens >= req.max_tokens => {
            return Err(BadRequest::new(
                format!(
                    "`max_tokens` ({}) must be greater than `thinking.budget_tokens` \
                     ({budget_tokens}): the budget is part of the output limit",
                    req.max_tokens
                ),
                "thinking.budget_tokens",
            ));
        }
        Some(ThinkingConfig::Enabled { budget_tokens }) => {
            (Some(budget_tokens), req.max_tokens - budget_tokens)
        }
    };
    let system = match &req.system {
        None => None,
        Some(content) => {
            let text = plain_text(content, "system")?;
            (!text.is_empty()).then_some(text)
        }
    };
    let mut messages: Vec<Message> = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let param = format!("messages[{i}]");
        match message.role {
            wire::Role::User => {
                let (results, rest) = user_blocks(&message.content, &param)?;
                if !results.is_empty() {
                    match messages.last_mut() {
                        Some(last) if last.role == Role::Tool => last.content.extend(results),
                        _ => messages.push(Message {
                            role: Role::Tool,
                            content: results,
                        }),
                    }
                }
                if !rest.is_empty() {
                    messages.push(Message {
                        role: Role::User,
                        content: rest,
                    });
                }
            }
            wire::Role::Assistant => {
                let blocks = assistant_blocks(&message.content, &param)?;
                if !blocks.is_empty() {
                    messages.push(Message {
                        role: Role::Assistant,
                        content: blocks,
                    });
                }
            }
        }
    }
    if messages.is_empty() {
        return Err(BadRequest::new(
            "the messages have no content: every block is empty",
            "messages",
        ));
    }
    check_tool_pairing(&messages).map_err(|problem| {
        BadRequest::new(
            format!(
                "tool_use and tool_result blocks do not pair up: every `tool_use` block \
                 needs one `tool_result` with its id in the next user message ({problem})"
            ),
            "messages",
        )
    })?;
    let tools = req
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| tool_spec(tool, i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ModelRequest {
        model: upstream_model.to_owned(),
        system,
        messages,
        tools,
        max_tokens,
        temperature: req.temperature,
        stream: req.stream,
        thinking_budget,
    })
}

/// A block's `type` (`text`, `image`...), empty when it has none.
fn block_type(block: &Value) -> &str {
    block.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The string member `key` of a block, or why it has none.
fn string_field<'a>(block: &'a Value, key: &str, param: &str) -> Result<&'a str, BadRequest> {
    block.get(key).and_then(Value::as_str).ok_or_else(|| {
        BadRequest::new(
            format!("a `{}` block needs a string `{key}`", block_type(block)),
            format!("{param}.{key}"),
        )
    })
}

/// The blocks of `content` with their paths (none for a string, which callers read as
/// one text).
fn blocks<'a>(content: &'a Content, param: &str) -> Result<Vec<(String, &'a Value)>, BadRequest> {
    let Content::Blocks(blocks) = content else {
        return Ok(Vec::new());
    };
    blocks
        .iter()
        .enumerate()
        .map(|(k, block)| {
            let param = format!("{param}.content[{k}]");
            if block.is_object() {
                Ok((param, block))
            } else {
                Err(BadRequest::new(
                    "a content block must be a JSON object",
                    param,
                ))
            }
        })
        .collect()
}

/// Content that may only be text (the system prompt, a tool result without images); the
/// blocks join with blank lines.
fn plain_text(content: &Content, param: &str) -> Result<String, BadRequest> {
    let blocks = match content {
        Content::Text(text) => return Ok(text.clone()),
        Content::Blocks(blocks) => blocks,
    };
    let mut texts = Vec::new();
    for (k, block) in blocks.iter().enumerate() {
        let param = format!("{param}[{k}]");
        match block_type(block) {
            "text" => texts.push(string_field(block, "text", &param)?),
            other => {
                return Err(BadRequest::new(
                    format!("blocks of type `{other}` are not accepted here; only `text`"),
                    format!("{param}.type"),
                ));
            }
        }
    }
    Ok(join_texts(texts))
}

/// Texts joined with blank lines, empty ones left out.
fn join_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    texts
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A text block, none for empty text (upstreams refuse empty text blocks).
fn text_block(text: &str) -> Option<ContentBlock> {
    (!text.is_empty()).then(|| ContentBlock::Text {
        text: text.to_owned(),
    })
}

/// A user message's blocks, split: the tool results (with their images) for a
/// [`Role::Tool`] message, and the rest in order.
fn user_blocks(
    content: &Content,
    param: &str,
) -> Result<(Vec<ContentBlock>, Vec<ContentBlock>), BadRequest> {
    if let Content::Text(text) = content {
        return Ok((Vec::new(), text_block(text).into_iter().collect()));
    }
    let mut results = Vec::new();
    let mut result_images = Vec::new();
    let mut rest = Vec::new();
    for (param, block) in blocks(content, param)? {
        match block_type(block) {
            "text" => rest.extend(text_block(string_field(block, "text", &param)?)),
            "image" => rest.push(image_block(block, &param)?),
            "tool_result" => {
                let (result, images) = tool_result(block, &param)?;
                results.push(result);
                result_images.extend(images);
            }
            kind @ ("tool_use" | "thinking" | "redacted_thinking") => {
                return Err(BadRequest::new(
                    format!("`{kind}` blocks belong in assistant messages"),
                    format!("{param}.type"),
                ));
            }
            other => return Err(unsupported_block(other, &param, "text, image, tool_result")),
        }
    }
    results.extend(result_images);
    Ok((results, rest))
}

/// The refusal of a block type the proxy cannot translate (documents, search results,
/// server tool blocks...), naming the types it can.
fn unsupported_block(kind: &str, param: &str, accepted: &str) -> BadRequest {
    BadRequest::new(
        format!(
            "content blocks of type `{kind}` are not supported here; the proxy accepts \
             {accepted}"
        ),
        format!("{param}.type"),
    )
}

/// An image from a base64 `source`.
fn image_block(block: &Value, param: &str) -> Result<ContentBlock, BadRequest> {
    let param = format!("{param}.source");
    let Some(source) = block.get("source").filter(|s| s.is_object()) else {
        return Err(BadRequest::new("an `image` block needs a `source`", param));
    };
    match block_type(source) {
        "base64" => {}
        kind @ ("url" | "file") => {
            return Err(BadRequest::new(
                format!(
                    "image sources of type `{kind}` are not supported: the proxy does not \
                     fetch images on a client's behalf; send the image inline as a \
                     `base64` source"
                ),
                param,
            ));
        }
        other => {
            return Err(BadRequest::new(
                format!("unknown image source type `{other}`; expected `base64`"),
                format!("{param}.type"),
            ));
        }
    }
    let media_type = string_field(source, "media_type", &param)?;
    let data = string_field(source, "data", &param)?;
    if !media_type.starts_with("image/") {
        return Err(BadRequest::new(
            format!("`{media_type}` is not an image media type"),
            format!("{param}.media_type"),
        ));
    }
    if data.is_empty() {
        return Err(BadRequest::new(
            "the image data is empty",
            format!("{param}.data"),
        ));
    }
    Ok(ContentBlock::Image {
        media_type: media_type.to_owned(),
        data_base64: data.to_owned(),
    })
}

/// A `tool_result` block: the result (its text content) and the images it carried.
fn tool_result(
    block: &Value,
    param: &str,
) -> Result<(ContentBlock, Vec<ContentBlock>), BadRequest> {
    let call_id = string_field(block, "tool_use_id", param)?;
    let is_error = match block.get("is_error") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(BadRequest::new(
                "`is_error` must be a boolean",
                format!("{param}.is_error"),
            ));
        }
    };
    let mut texts = Vec::new();
    let mut images = Vec::new();
    match block.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => texts.push(text.as_str()),
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let param = format!("{param}.content[{j}]");
                match block_type(part) {
                    "text" => texts.push(string_field(part, "text", &param)?),
                    "image" => images.push(image_block(part, &param)?),
                    other => return Err(unsupported_block(other, &param, "text, image")),
                }
            }
        }
        Some(_) => {
            return Err(BadRequest::new(
                "a tool result's `content` must be a string or an array of blocks",
                format!("{param}.content"),
            ));
        }
    }
    let result = ContentBlock::ToolResult(ToolResult {
        call_id: call_id.to_owned(),
        content: join_texts(texts),
        is_error,
    });
    Ok((result, images))
}

/// An assistant message's blocks: text, thinking and tool calls, in order.
fn assistant_blocks(content: &Content, param: &str) -> Result<Vec<ContentBlock>, BadRequest> {
    if let Content::Text(text) = content {
        return Ok(text_block(text).into_iter().collect());
    }
    let mut out: Vec<ContentBlock> = Vec::new();
    for (param, block) in blocks(content, param)? {
        match block_type(block) {
            "text" => out.extend(text_block(string_field(block, "text", &param)?)),
            "thinking" => {
                let thinking = string_field(block, "thinking", &param)?;
                let signature = match block.get("signature") {
                    None | Some(Value::Null) => "",
                    Some(_) => string_field(block, "signature", &param)?,
                };
                let (signature, encrypted) = match unseal(signature) {
                    Some(reasoning) => (None, Some(reasoning)),
                    None => ((!signature.is_empty()).then(|| signature.to_owned()), None),
                };
                if !thinking.is_empty() || signature.is_some() || encrypted.is_some() {
                    out.push(ContentBlock::Thinking {
                        thinking: thinking.to_owned(),
                        signature,
                        encrypted,
                    });
                }
            }
            "redacted_thinking" => {
                let data = string_field(block, "data", &param)?;
                let reasoning = unseal(data).unwrap_or_else(|| {
                    EncryptedReasoning::new(EncryptedReasoning::ANTHROPIC_REDACTED, data)
                });
                // As the agent loop assembles a stream: encrypted reasoning completes the
                // thinking block before it, or stands alone.
                match out.last_mut() {
                    Some(ContentBlock::Thinking {
                        encrypted: slot @ None,
                        ..
                    }) => *slot = Some(reasoning),
                    _ => out.push(ContentBlock::Thinking {
                        thinking: String::new(),
                        signature: None,
                        encrypted: Some(reasoning),
                    }),
                }
            }
            "tool_use" => {
                let id = string_field(block, "id", &param)?;
                let name = string_field(block, "name", &param)?;
                let input = match block.get("input") {
                    Some(input @ Value::Object(_)) => input.clone(),
                    _ => {
                        return Err(BadRequest::new(
                            "a `tool_use` block needs an object `input`",
                            format!("{param}.input"),
                        ));
                    }
                };
                out.push(ContentBlock::ToolUse(ToolCall {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    input,
                }));
            }
            "tool_result" | "image" => {
                return Err(BadRequest::new(
                    format!("`{}` blocks belong in user messages", block_type(block)),
                    format!("{param}.type"),
                ));
            }
            other => {
                return Err(unsupported_block(
                    other,
                    &param,
                    "text, thinking, redacted_thinking, tool_use",
                ));
            }
        }
    }
    Ok(out)
}

/// A client tool the model may call. Anthropic's server and built-in tools (web search,
/// code execution, computer use, `bash_*`...) are refused: the upstreams only call tools
/// the client runs and describes with a schema.
fn tool_spec(tool: &ToolDefinition, i: usize) -> Result<ToolSpec, BadRequest> {
    match tool.kind.as_deref() {
        None | Some("custom") => {}
        Some(other) => {
            return Err(BadRequest::new(
                format!(
                    "tools of type `{other}` are not supported: the proxy's upstreams \
                     only call client tools (with a `name`, `description` and \
                     `input_schema`)"
                ),
                format!("tools[{i}].type"),
            ));
        }
    }
    if tool.name.is_empty() {
        return Err(BadRequest::new(
            "a tool needs a name",
            format!("tools[{i}].name"),
        ));
    }
    let Some(input_schema) = &tool.input_schema else {
        return Err(BadRequest::new(
            "a tool needs an `input_schema`",
            format!("tools[{i}].input_schema"),
        ));
    };
    Ok(ToolSpec {
        name: tool.name.clone(),
        description: tool.description.clone().unwrap_or_default(),
        input_schema: input_schema.clone(),
    })
}
