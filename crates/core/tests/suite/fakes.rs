//! Test doubles for the ports: a scripted provider and a few in-memory tools.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, Cost, ModelChunk, ModelError, ModelProvider,
    ModelRequest, PermissionLevel, StopReason, Tool, ToolAction, ToolCall, ToolContext, ToolError,
    ToolOutput, Usage,
};
use serde_json::{Value, json};

/// One scripted answer: chunks to stream, then optionally hang forever.
#[derive(Clone)]
pub struct Scripted {
    pub chunks: Vec<Result<ModelChunk, ModelError>>,
    pub hang_after: bool,
}

pub fn text_turn(text: &str) -> Scripted {
    Scripted {
        chunks: vec![
            Ok(ModelChunk::Text { text: text.into() }),
            Ok(ModelChunk::Usage {
                usage: Usage {
                    input_tokens: 10,
                    output_tokens: 5,
                    ..Usage::default()
                },
            }),
            Ok(ModelChunk::Stop {
                reason: StopReason::EndTurn,
            }),
        ],
        hang_after: false,
    }
}

pub fn tool_turn(calls: &[(&str, &str, Value)]) -> Scripted {
    let mut chunks = vec![Ok(ModelChunk::Text {
        text: "Let me look.".into(),
    })];
    for (id, name, input) in calls {
        chunks.push(Ok(ModelChunk::ToolUseStart {
            id: (*id).into(),
            name: (*name).into(),
        }));
        chunks.push(Ok(ModelChunk::ToolUse {
            call: ToolCall {
                id: (*id).into(),
                name: (*name).into(),
                input: input.clone(),
            },
        }));
    }
    chunks.push(Ok(ModelChunk::Usage {
        usage: Usage {
            input_tokens: 20,
            output_tokens: 8,
            ..Usage::default()
        },
    }));
    chunks.push(Ok(ModelChunk::Stop {
        reason: StopReason::ToolUse,
    }));
    Scripted {
        chunks,
        hang_after: false,
    }
}

#[derive(Default)]
pub struct ScriptedProvider {
    turns: Mutex<VecDeque<Scripted>>,
    pub requests: Mutex<Vec<ModelRequest>>,
}

impl ScriptedProvider {
    pub fn new(turns: Vec<Scripted>) -> Arc<Self> {
        Arc::new(Self {
            turns: Mutex::new(turns.into()),
            requests: Mutex::default(),
        })
    }

    pub fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl ModelProvider for ScriptedProvider {
    fn name(&self) -> &str {
        "scripted"
    }

    fn capabilities(&self, _model: &str) -> Capabilities {
        Capabilities::default()
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        self.requests.lock().unwrap().push(request);
        let turn = self
            .turns
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script has a turn for every request");
        let items = futures::stream::iter(turn.chunks);
        if turn.hang_after {
            Box::pin(futures::StreamExt::chain(items, futures::stream::pending()))
        } else {
            Box::pin(items)
        }
    }

    fn is_available(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { true })
    }

    fn estimate_cost(&self, _request: &ModelRequest) -> Option<Cost> {
        None
    }
}

/// A tool with a configurable level whose execution can wait on a shared barrier, sleep,
/// or record that it ran.
pub struct FakeTool {
    pub name: &'static str,
    pub level: PermissionLevel,
    pub barrier: Option<Arc<tokio::sync::Barrier>>,
    pub sleep: Option<Duration>,
    pub ran: Arc<Mutex<Vec<Value>>>,
}

impl FakeTool {
    pub fn new(name: &'static str, level: PermissionLevel) -> Self {
        Self {
            name,
            level,
            barrier: None,
            sleep: None,
            ran: Arc::default(),
        }
    }
}

impl Tool for FakeTool {
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        "a fake tool"
    }

    fn permission(&self) -> PermissionLevel {
        self.level
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object"})
    }

    fn validate(&self, input: &Value, _ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        if input.get("bad").is_some() {
            return Err(ToolError::InvalidInput("`bad` is not allowed".into()));
        }
        let target = input
            .get("target")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(ToolAction {
            summary: format!("{} {}", self.name, target.clone().unwrap_or_default()),
            target,
            outside_root: input.get("outside").is_some(),
            preview: None,
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            if let Some(barrier) = &self.barrier {
                barrier.wait().await;
            }
            if let Some(sleep) = self.sleep {
                tokio::time::sleep(sleep).await;
            }
            self.ran.lock().unwrap().push(input.clone());
            Ok(ToolOutput::text(format!("{} ran with {input}", self.name)))
        })
    }
}
