//! Test doubles for the ports: a scripted provider and a few in-memory tools.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, Cost, Message, MessageRecord, ModelChunk, ModelError,
    ModelProvider, ModelRequest, PermissionLevel, RepositoryError, SessionId, SessionMeta,
    SessionRepository, SessionSummary, StopReason, StoredSession, Tool, ToolAction, ToolCall,
    ToolContext, ToolError, ToolOutput, Usage,
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
    /// Micro-dollars per output token, by model; a model not listed has no known price.
    prices: Vec<(String, u64)>,
}

impl ScriptedProvider {
    pub fn new(turns: Vec<Scripted>) -> Arc<Self> {
        Arc::new(Self {
            turns: Mutex::new(turns.into()),
            ..Self::default()
        })
    }

    /// A provider that prices `model`'s output tokens at `micro_usd` each.
    pub fn priced(turns: Vec<Scripted>, prices: &[(&str, u64)]) -> Arc<Self> {
        Arc::new(Self {
            turns: Mutex::new(turns.into()),
            prices: prices.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect(),
            ..Self::default()
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

    fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        let rate = self.prices.iter().find(|(m, _)| m == model)?.1;
        Some(Cost {
            micro_usd: usage.output_tokens * rate,
        })
    }
}

/// Sessions kept in memory, for one project (`/project`).
#[derive(Default)]
pub struct MemoryRepository {
    sessions: Mutex<Vec<(SessionId, String, Vec<MessageRecord>)>>,
    next: Mutex<u32>,
}

impl MemoryRepository {
    /// Every record stored for `session`, in order.
    pub fn records(&self, session: &SessionId) -> Vec<MessageRecord> {
        let sessions = self.sessions.lock().unwrap();
        sessions
            .iter()
            .find(|(id, _, _)| id == session)
            .map(|(_, _, records)| records.clone())
            .unwrap_or_default()
    }

    /// Adds a stored session, as an earlier run would have left it.
    pub fn insert(&self, id: &str, project: &str, messages: Vec<Message>) {
        let records = messages
            .into_iter()
            .map(|message| MessageRecord {
                message,
                model: None,
                usage: None,
                cost: None,
            })
            .collect();
        self.sessions
            .lock()
            .unwrap()
            .push((SessionId(id.into()), project.into(), records));
    }
}

impl SessionRepository for MemoryRepository {
    fn append<'a>(
        &'a self,
        session: &'a SessionId,
        record: MessageRecord,
    ) -> BoxFuture<'a, Result<(), RepositoryError>> {
        let mut sessions = self.sessions.lock().unwrap();
        match sessions.iter_mut().find(|(id, _, _)| id == session) {
            Some((_, _, records)) => records.push(record),
            None => sessions.push((session.clone(), "/project".into(), vec![record])),
        }
        Box::pin(async { Ok(()) })
    }

    fn create<'a>(
        &'a self,
        _meta: &'a SessionMeta,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>> {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        let id = SessionId(format!("s{next}"));
        self.sessions
            .lock()
            .unwrap()
            .push((id.clone(), "/project".into(), Vec::new()));
        Box::pin(async move { Ok(id) })
    }

    fn load<'a>(
        &'a self,
        session: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, RepositoryError>> {
        let sessions = self.sessions.lock().unwrap();
        let found =
            sessions
                .iter()
                .find(|(id, _, _)| id == session)
                .map(|(id, project, records)| StoredSession {
                    id: id.clone(),
                    project_path: project.clone(),
                    messages: records.iter().map(|r| r.message.clone()).collect(),
                });
        Box::pin(async move { Ok(found) })
    }

    fn list(&self, limit: usize) -> BoxFuture<'_, Result<Vec<SessionSummary>, RepositoryError>> {
        let sessions = self.sessions.lock().unwrap();
        let list = sessions
            .iter()
            .rev()
            .filter(|(_, project, _)| project == "/project")
            .take(limit)
            .map(|(id, _, records)| SessionSummary {
                id: id.clone(),
                title: None,
                updated_at: String::new(),
                message_count: records.len() as u64,
            })
            .collect();
        Box::pin(async move { Ok(list) })
    }

    fn resolve<'a>(
        &'a self,
        id_or_prefix: &'a str,
    ) -> BoxFuture<'a, Result<SessionId, RepositoryError>> {
        let sessions = self.sessions.lock().unwrap();
        let matches: Vec<SessionId> = sessions
            .iter()
            .filter(|(id, _, _)| id.0.starts_with(id_or_prefix))
            .map(|(id, _, _)| id.clone())
            .collect();
        let result = match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RepositoryError(format!(
                "no session matches `{id_or_prefix}`"
            ))),
            _ => Err(RepositoryError(format!("`{id_or_prefix}` is ambiguous"))),
        };
        Box::pin(async move { result })
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

/// Resilience that never retries: for tests of what the agent does with a failure.
pub fn no_retries() -> Arc<cuervo_core::Resilience> {
    let mut resilience = cuervo_core::Resilience::standalone();
    resilience.retry = cuervo_domain::RetryPolicy::none();
    Arc::new(resilience)
}
