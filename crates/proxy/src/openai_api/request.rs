//! The client's request: parsing and translation to the domain request.

use super::*;

/// Parses a request body into [`wire::ChatRequest`], with errors a client can act on.
///
/// Plain `serde_json::from_slice` would refuse valid OpenAI requests and explain invalid
/// ones badly, because the DTO was written for the client side: it rejects `null` where
/// OpenAI accepts it (`"tools": null`, `"stream": null`, an echoed `"tool_calls": null`),
/// requires `stream_options.include_usage` and a function's `parameters` (both optional
/// in OpenAI's API), and reports an unknown role as an opaque enum error. This
/// normalises those before deserialising, rejects unknown roles naming the message, and
/// rejects `n` other than 1 (the proxy returns one choice; silently answering with one
/// would break a client that asked for several).
pub fn parse_request(body: &[u8]) -> Result<wire::ChatRequest, BadRequest> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| BadRequest::general(format!("the body is not valid JSON: {e}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(BadRequest::general("the body must be a JSON object"));
    };
    strip_nulls(object);
    if let Some(n) = object.get("n")
        && n.as_u64() != Some(1)
    {
        return Err(BadRequest::new(
            "only `n` = 1 is supported: the proxy returns one choice",
            "n".to_owned(),
        ));
    }
    if let Some(Value::Object(options)) = object.get_mut("stream_options") {
        strip_nulls(options);
        options.entry("include_usage").or_insert(Value::Bool(false));
    }
    if let Some(Value::Array(messages)) = object.get_mut("messages") {
        for (i, message) in messages.iter_mut().enumerate() {
            let Some(message) = message.as_object_mut() else {
                return Err(BadRequest::new(
                    "a message must be a JSON object",
                    format!("messages[{i}]"),
                ));
            };
            strip_nulls(message);
            match message.get("role").and_then(Value::as_str) {
                Some("system" | "developer" | "user" | "assistant" | "tool") => {}
                Some(other) => {
                    return Err(BadRequest::new(
                        format!(
                            "unknown role `{other}`; expected system, developer, user, \
                             assistant or tool"
                        ),
                        format!("messages[{i}].role"),
                    ));
                }
                None => {
                    return Err(BadRequest::new(
                        "a message needs a `role`",
                        format!("messages[{i}].role"),
                    ));
                }
            }
            if let Some(Value::Array(calls)) = message.get_mut("tool_calls") {
                for call in calls.iter_mut().filter_map(Value::as_object_mut) {
                    strip_nulls(call);
                    if let Some(Value::Object(function)) = call.get_mut("function") {
                        strip_nulls(function);
                    }
                }
            }
        }
    }
    if let Some(Value::Array(tools)) = object.get_mut("tools") {
        for tool in tools.iter_mut().filter_map(Value::as_object_mut) {
            strip_nulls(tool);
            if let Some(Value::Object(function)) = tool.get_mut("function") {
                strip_nulls(function);
                function.entry("parameters").or_insert_with(empty_schema);
            }
        }
    }
    serde_json::from_value(value)
        .map_err(|e| BadRequest::general(format!("the request is malformed: {e}")))
}

/// Removes the `null` members of one object (not recursively: a JSON Schema may mean a
/// `null` it contains), so that "null" reads as "absent" as it does for OpenAI.
fn strip_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, v| !v.is_null());
}

/// The schema of a function without parameters.
fn empty_schema() -> Value {
    json!({"type": "object", "properties": {}})
}

/// Whether the client asked for `stream_options.include_usage`: a last chunk with empty
/// `choices` carrying the usage (the only way a streaming client learns it).
pub fn wants_usage(req: &wire::ChatRequest) -> bool {
    req.stream_options.is_some_and(|o| o.include_usage)
}

/// The client's Chat Completions request as the domain request for `upstream_model`
/// (the model name the chosen upstream knows; the client's `model` is the proxy's public
/// name).
///
/// System and developer messages, wherever they stand, join (blank-line separated) into
/// the system prompt, the one place every upstream takes it. Consecutive `tool` messages
/// join one [`Role::Tool`] message of results, which is how the domain pairs results with
/// the assistant message that asked for them; a tool message's text goes through
/// verbatim (`is_error` false: OpenAI's format has no error flag, and guessing one from
/// the text would change what the client sent). Images must be `data:` base64 URLs: the
/// proxy does not fetch URLs on a client's behalf. Tool-call arguments must be a JSON
/// object, since Anthropic and Gemini take arguments as objects, not text. Messages left
/// with no content are dropped (Anthropic refuses empty ones). Tool calls and results
/// must pair up as every upstream demands, checked here so the client gets a clear 400
/// rather than an upstream's.
pub fn to_model_request(
    req: &wire::ChatRequest,
    upstream_model: &str,
) -> Result<ModelRequest, BadRequest> {
    if req.messages.is_empty() {
        return Err(BadRequest::new(
            "`messages` must contain at least one message",
            "messages".to_owned(),
        ));
    }
    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for (i, message) in req.messages.iter().enumerate() {
        let param = format!("messages[{i}]");
        match message {
            wire::ChatMessage::System { content } | wire::ChatMessage::Developer { content } => {
                let text = plain_text(content, &param)?;
                if !text.is_empty() {
                    system.push(text);
                }
            }
            wire::ChatMessage::User { content } => {
                let blocks = user_blocks(content, &param)?;
                if !blocks.is_empty() {
                    messages.push(Message {
                        role: Role::User,
                        content: blocks,
                    });
                }
            }
            wire::ChatMessage::Assistant {
                content,
                tool_calls,
                reasoning_content: _,
            } => {
                let mut blocks = match content {
                    Some(content) => assistant_blocks(content, &param)?,
                    None => Vec::new(),
                };
                for (j, call) in tool_calls.iter().enumerate() {
                    let call = tool_call(call, &format!("{param}.tool_calls[{j}]"))?;
                    blocks.push(ContentBlock::ToolUse(call));
                }
                if !blocks.is_empty() {
                    messages.push(Message {
                        role: Role::Assistant,
                        content: blocks,
                    });
                }
            }
            wire::ChatMessage::Tool {
                tool_call_id,
                content,
            } => {
                let result = ContentBlock::ToolResult(ToolResult {
                    call_id: tool_call_id.clone(),
                    content: plain_text(content, &param)?,
                    is_error: false,
                });
                match messages.last_mut() {
                    Some(last) if last.role == Role::Tool => last.content.push(result),
                    _ => messages.push(Message {
                        role: Role::Tool,
                        content: vec![result],
                    }),
                }
            }
        }
    }
    check_tool_pairing(&messages).map_err(|problem| {
        BadRequest::new(
            format!(
                "tool calls and tool messages do not pair up: every assistant `tool_calls` \
                 entry needs one `tool` message with its id right after it ({problem})"
            ),
            "messages".to_owned(),
        )
    })?;
    let tools = req
        .tools
        .iter()
        .enumerate()
        .map(|(i, tool)| tool_spec(tool, i))
        .collect::<Result<Vec<_>, _>>()?;
    let max_tokens = match (req.max_completion_tokens, req.max_tokens) {
        (Some(0), _) => {
            return Err(BadRequest::new(
                "`max_completion_tokens` must be at least 1",
                "max_completion_tokens".to_owned(),
            ));
        }
        (Some(n), _) => n,
        (None, Some(0)) => {
            return Err(BadRequest::new(
                "`max_tokens` must be at least 1",
                "max_tokens".to_owned(),
            ));
        }
        (None, Some(n)) => n,
        (None, None) => DEFAULT_MAX_TOKENS,
    };
    Ok(ModelRequest {
        model: upstream_model.to_owned(),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        tools,
        max_tokens,
        temperature: req.temperature,
        stream: req.stream,
        thinking_budget: None,
    })
}

/// The type of a content part (`text`, `image_url`...).
fn part_type(part: &Value) -> &str {
    part.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The text of a part of type `text` (or `key`), or why it has none.
fn part_text<'a>(part: &'a Value, key: &str, param: &str) -> Result<&'a str, BadRequest> {
    part.get(key).and_then(Value::as_str).ok_or_else(|| {
        BadRequest::new(
            format!("a `{key}` part needs a string `{key}`"),
            format!("{param}.{key}"),
        )
    })
}

/// Content that may only be text (system, developer and tool messages); parts join with
/// blank lines.
fn plain_text(content: &wire::MessageContent, param: &str) -> Result<String, BadRequest> {
    match content {
        wire::MessageContent::Text(text) => Ok(text.clone()),
        wire::MessageContent::Parts(parts) => {
            let mut texts = Vec::new();
            for (k, part) in parts.iter().enumerate() {
                let param = format!("{param}.content[{k}]");
                match part_type(part) {
                    "text" => texts.push(part_text(part, "text", &param)?),
                    other => {
                        return Err(BadRequest::new(
                            format!(
                                "content parts of type `{other}` are not accepted here; \
                                 only `text`"
                            ),
                            format!("{param}.type"),
                        ));
                    }
                }
            }
            Ok(texts
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n"))
        }
    }
}

/// A user message's blocks, text and images in their order.
fn user_blocks(
    content: &wire::MessageContent,
    param: &str,
) -> Result<Vec<ContentBlock>, BadRequest> {
    let parts = match content {
        wire::MessageContent::Text(text) => return Ok(text_block(text).into_iter().collect()),
        wire::MessageContent::Parts(parts) => parts,
    };
    let mut blocks = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        let param = format!("{param}.content[{k}]");
        match part_type(part) {
            "text" => blocks.extend(text_block(part_text(part, "text", &param)?)),
            "image_url" => {
                // `{"image_url": {"url": ...}}`, or the bare string some clients send.
                let url = match part.get("image_url") {
                    Some(Value::String(url)) => Some(url.as_str()),
                    Some(image) => image.get("url").and_then(Value::as_str),
                    None => None,
                };
                let param = format!("{param}.image_url.url");
                let Some(url) = url else {
                    return Err(BadRequest::new(
                        "an `image_url` part needs `image_url.url`",
                        param,
                    ));
                };
                blocks.push(image_block(url, &param)?);
            }
            other => {
                return Err(BadRequest::new(
                    format!(
                        "content parts of type `{other}` are not supported; \
                         only `text` and `image_url`"
                    ),
                    format!("{param}.type"),
                ));
            }
        }
    }
    Ok(blocks)
}

/// An assistant message's text blocks; a `refusal` part is the text the model said.
fn assistant_blocks(
    content: &wire::MessageContent,
    param: &str,
) -> Result<Vec<ContentBlock>, BadRequest> {
    let parts = match content {
        wire::MessageContent::Text(text) => return Ok(text_block(text).into_iter().collect()),
        wire::MessageContent::Parts(parts) => parts,
    };
    let mut blocks = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        let param = format!("{param}.content[{k}]");
        match part_type(part) {
            "text" => blocks.extend(text_block(part_text(part, "text", &param)?)),
            "refusal" => blocks.extend(text_block(part_text(part, "refusal", &param)?)),
            other => {
                return Err(BadRequest::new(
                    format!(
                        "content parts of type `{other}` are not accepted in assistant \
                         messages; only `text` and `refusal`"
                    ),
                    format!("{param}.type"),
                ));
            }
        }
    }
    Ok(blocks)
}

/// A text block, none for empty text (upstreams refuse empty text blocks).
fn text_block(text: &str) -> Option<ContentBlock> {
    (!text.is_empty()).then(|| ContentBlock::Text {
        text: text.to_owned(),
    })
}

/// An image from a `data:<media type>;base64,<data>` URL.
fn image_block(url: &str, param: &str) -> Result<ContentBlock, BadRequest> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Err(BadRequest::new(
            "only `data:` base64 image URLs are supported: the proxy does not fetch \
             images from URLs; send the image inline as data:<type>;base64,<data>",
            param.to_owned(),
        ));
    };
    let malformed = || {
        BadRequest::new(
            "malformed image data URL; expected data:image/<type>;base64,<data>",
            param.to_owned(),
        )
    };
    let (meta, data) = rest.split_once(',').ok_or_else(malformed)?;
    let mut meta = meta.split(';');
    let media_type = meta.next().unwrap_or("").trim().to_ascii_lowercase();
    if !meta.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        return Err(malformed());
    }
    let data = data.trim();
    if !media_type.starts_with("image/") || data.is_empty() {
        return Err(malformed());
    }
    Ok(ContentBlock::Image {
        media_type,
        data_base64: data.to_owned(),
    })
}

/// An assistant's earlier tool call, its JSON-string arguments parsed.
fn tool_call(call: &wire::ToolCall, param: &str) -> Result<ToolCall, BadRequest> {
    if call.kind != "function" {
        return Err(BadRequest::new(
            format!(
                "tool calls of type `{}` are not supported; only `function`",
                call.kind
            ),
            format!("{param}.type"),
        ));
    }
    let arguments = call.function.arguments.trim();
    let input = if arguments.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str::<Value>(arguments).map_err(|e| {
            BadRequest::new(
                format!("the arguments are not valid JSON: {e}"),
                format!("{param}.function.arguments"),
            )
        })?
    };
    if !input.is_object() {
        return Err(BadRequest::new(
            "the arguments must be a JSON object",
            format!("{param}.function.arguments"),
        ));
    }
    Ok(ToolCall {
        id: call.id.clone(),
        name: call.function.name.clone(),
        input,
    })
}

/// A function the model may call.
fn tool_spec(tool: &wire::Tool, i: usize) -> Result<ToolSpec, BadRequest> {
    if tool.kind != "function" {
        return Err(BadRequest::new(
            format!(
                "tools of type `{}` are not supported; only `function`",
                tool.kind
            ),
            format!("tools[{i}].type"),
        ));
    }
    if tool.function.name.is_empty() {
        return Err(BadRequest::new(
            "a function needs a name",
            format!("tools[{i}].function.name"),
        ));
    }
    Ok(ToolSpec {
        name: tool.function.name.clone(),
        description: tool.function.description.clone(),
        input_schema: match &tool.function.parameters {
            Value::Null => empty_schema(),
            schema => schema.clone(),
        },
    })
}
