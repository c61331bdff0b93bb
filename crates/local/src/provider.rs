//! [`LocalProvider`]: local GGUF chat models and a local embedding model behind the
//! domain's `ModelProvider` port.
//!
//! A request's `model` names a model in the [`ModelStore`], a model registered with
//! [`LocalProvider::register`], or a path to a `.gguf` file. Models load on first use (or
//! on `is_available`) and stay loaded; loading another chat model unloads the previous one
//! unless [`LocalOptions::keep_loaded`] allows more, since memory, not disk, is what a
//! laptop runs out of.
//!
//! Cost is zero: the model runs on the user's own machine and no one bills per token
//! (electricity is real but not a price the agent can act on); `Some(zero)` rather than
//! `None` tells the router the price is known.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cuervo_domain::{
    BoxFuture, Capabilities, ChunkStream, Cost, ModelChunk, ModelError, ModelErrorKind,
    ModelProvider, ModelRequest, StopReason, Usage,
};
use futures::StreamExt;

use crate::chat::{ChatModel, EngineOptions, FinishReason, GenEvent};
#[cfg(feature = "embeddings")]
use crate::embed::LocalEmbedder;
use crate::error::{Error, Result};
use crate::gguf::GgufMetadata;
use crate::sampler::{RepetitionStop, SamplingParams};
use crate::store::{ModelKind, ModelStore};
use crate::template::ChatTemplate;
use crate::toolcall::OutputParser;

/// The provider name in config, errors and events.
pub const PROVIDER_NAME: &str = "local";

/// Settings of the local provider.
///
/// The sampling defaults keep small models usable: greedy decoding (small models answer
/// best with their most likely token) with a mild repetition penalty on the last 64
/// tokens (llama.cpp's `penalties` sampler at Ollama's default strength), and a
/// [`RepetitionStop`] that cuts an answer once it loops anyway. Without them SmolLM2 asked
/// to read a file wrote `# Cargo.toml` until `max_tokens` (7,886 tokens); with them it
/// ends its answer after 178. A request's `temperature` turns sampling on, over the tail
/// that top-k, top-p and min-p leave.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalOptions {
    pub engine: EngineOptions,
    /// Temperature when the request sets none (a request's own `temperature` wins; 0 is
    /// greedy).
    pub default_temperature: f32,
    /// Keep only the `top_k` most likely tokens (0 keeps all).
    pub top_k: usize,
    /// Nucleus sampling threshold (1.0 turns it off).
    pub top_p: f32,
    /// Drop tokens less likely than `min_p` times the most likely one (0 turns it off).
    pub min_p: f32,
    /// Penalty on tokens among the last `repeat_last_n` generated (1.0 turns it off).
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    /// When to cut an answer that loops (`None`: never, generate to `max_tokens`).
    pub repetition_stop: Option<RepetitionStop>,
    /// Seed for sampling; `None` draws one per request.
    pub seed: Option<u64>,
    /// How many chat models may stay loaded at once.
    pub keep_loaded: usize,
    /// The model `embed` uses: a store name or a checkpoint directory.
    pub embedding_model: Option<String>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            engine: EngineOptions::default(),
            default_temperature: 0.0,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            repetition_stop: Some(RepetitionStop::default()),
            seed: None,
            keep_loaded: 1,
            embedding_model: None,
        }
    }
}

/// Local models as a `ModelProvider`. Cheap to clone (the loaded models are shared).
#[derive(Clone)]
pub struct LocalProvider {
    inner: Arc<Inner>,
}

struct Inner {
    options: LocalOptions,
    store: Option<ModelStore>,
    registered: Mutex<HashMap<String, PathBuf>>,
    loaded: Mutex<Vec<(PathBuf, Arc<ChatModel>)>>,
    metadata: Mutex<HashMap<PathBuf, Arc<GgufMetadata>>>,
    #[cfg(feature = "embeddings")]
    embedder: Mutex<Option<(PathBuf, Arc<LocalEmbedder>)>>,
    /// Serialises loads so two requests do not load the same file twice.
    loading: Mutex<()>,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider")
            .field("options", &self.inner.options)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl LocalProvider {
    /// A provider that resolves names through registered names, then `store` (if any),
    /// then file paths.
    pub fn new(store: Option<ModelStore>, options: LocalOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                options,
                store,
                registered: Mutex::new(HashMap::new()),
                loaded: Mutex::new(Vec::new()),
                metadata: Mutex::new(HashMap::new()),
                #[cfg(feature = "embeddings")]
                embedder: Mutex::new(None),
                loading: Mutex::new(()),
            }),
        }
    }

    pub fn options(&self) -> &LocalOptions {
        &self.inner.options
    }

    pub fn store(&self) -> Option<&ModelStore> {
        self.inner.store.as_ref()
    }

    /// Makes `name` refer to the model file or directory at `path`.
    pub fn register(&self, name: impl Into<String>, path: impl Into<PathBuf>) {
        self.inner.register(name.into(), path.into());
    }

    /// Where the model called `name` lives: a registered name, a store entry, or a path.
    pub fn resolve(&self, name: &str) -> Result<PathBuf> {
        self.inner.resolve(name)
    }

    /// The header of `name`'s GGUF file (read once, then cached).
    pub fn metadata(&self, name: &str) -> Result<Arc<GgufMetadata>> {
        self.inner.metadata(name)
    }

    /// The loaded chat model `name`, loading it if needed (blocking).
    pub fn chat_model(&self, name: &str) -> Result<Arc<ChatModel>> {
        self.inner.chat_model(name)
    }

    /// The embedding model (`LocalOptions::embedding_model`, else the store's first
    /// embedding model), loading it if needed (blocking).
    #[cfg(feature = "embeddings")]
    pub fn embedder(&self) -> Result<Arc<LocalEmbedder>> {
        self.inner.embedder()
    }

    /// Whether the model `name` resolves and loads (the per-model form of
    /// `is_available`; blocking).
    pub fn check(&self, name: &str) -> Result<()> {
        self.inner.chat_model(name).map(|_| ())
    }
}

impl Inner {
    fn register(&self, name: String, path: PathBuf) {
        lock(&self.registered).insert(name, path);
    }

    fn resolve(&self, name: &str) -> Result<PathBuf> {
        if let Some(p) = lock(&self.registered).get(name) {
            return Ok(p.clone());
        }
        if let Some(store) = &self.store
            && let Some(entry) = store.get(name)?
        {
            return Ok(entry.path);
        }
        let p = Path::new(name);
        if p.exists() {
            return Ok(p.to_path_buf());
        }
        Err(Error::NotFound(name.to_owned()))
    }

    fn gguf_path(&self, name: &str) -> Result<PathBuf> {
        let p = self.resolve(name)?;
        if p.is_dir() {
            // A directory holding one GGUF file (as `import` of a folder records it).
            let found = std::fs::read_dir(&p)
                .map_err(|e| Error::io(&p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|f| f.extension().is_some_and(|x| x == "gguf"));
            return found.ok_or_else(|| Error::Gguf {
                path: p.clone(),
                reason: "the directory holds no .gguf file".into(),
            });
        }
        Ok(p)
    }

    fn metadata(&self, name: &str) -> Result<Arc<GgufMetadata>> {
        let path = self.gguf_path(name)?;
        if let Some(m) = lock(&self.metadata).get(&path) {
            return Ok(m.clone());
        }
        let m = Arc::new(GgufMetadata::read(&path)?);
        lock(&self.metadata).insert(path, m.clone());
        Ok(m)
    }

    fn chat_model(&self, name: &str) -> Result<Arc<ChatModel>> {
        let path = self.gguf_path(name)?;
        let _guard = lock(&self.loading);
        if let Some((_, m)) = lock(&self.loaded).iter().find(|(p, _)| *p == path) {
            return Ok(m.clone());
        }
        {
            // Unload before loading, so two models never sit in memory at once.
            let mut loaded = lock(&self.loaded);
            let keep = self.options.keep_loaded.max(1) - 1;
            while loaded.len() > keep {
                loaded.remove(0);
            }
        }
        let model = Arc::new(ChatModel::load(&path, &self.options.engine)?);
        lock(&self.loaded).push((path, model.clone()));
        Ok(model)
    }

    #[cfg(feature = "embeddings")]
    fn embedder(&self) -> Result<Arc<LocalEmbedder>> {
        let name = self.options.embedding_model.clone().or_else(|| {
            // Without configuration, the first embedding model in the store.
            let store = self.store.as_ref()?;
            let list = store.list().ok()?;
            list.into_iter()
                .find(|e| e.kind == ModelKind::Embedding)
                .map(|e| e.name)
        });
        let name = name.ok_or_else(|| Error::NotFound("(an embedding model)".into()))?;
        let path = self.resolve(&name)?;
        let mut slot = lock(&self.embedder);
        if let Some((p, e)) = slot.as_ref()
            && *p == path
        {
            return Ok(e.clone());
        }
        let e = Arc::new(LocalEmbedder::load(&path)?);
        *slot = Some((path, e.clone()));
        Ok(e)
    }

    /// `texts` through the embedding model.
    #[cfg(feature = "embeddings")]
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        self.embedder()?.embed(texts)
    }

    /// Without the `embeddings` feature there is no embedding engine to run.
    #[cfg(not(feature = "embeddings"))]
    fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Err(Error::NotBuilt {
            what: "local embeddings",
            feature: "embeddings",
        })
    }

    fn sampling(&self, request: &ModelRequest) -> SamplingParams {
        let o = &self.options;
        SamplingParams {
            temperature: request.temperature.unwrap_or(o.default_temperature),
            top_k: o.top_k,
            top_p: o.top_p,
            min_p: o.min_p,
            repeat_penalty: o.repeat_penalty,
            repeat_last_n: o.repeat_last_n,
            seed: o.seed.unwrap_or_else(rand::random),
            repetition_stop: o.repetition_stop,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Capabilities from a GGUF header: the trained context (capped by what the engine
/// allocates), tools when the template renders them in a syntax this crate parses,
/// thinking when it has `<think>`.
pub fn capabilities_from(meta: &GgufMetadata, options: &EngineOptions) -> Capabilities {
    let context = meta
        .context_length()
        .unwrap_or(2048)
        .min(u64::from(options.max_context));
    let template = ChatTemplate::new(
        meta.chat_template().unwrap_or(crate::template::CHATML),
        meta.bos_token(),
        meta.eos_token(),
    )
    .ok();
    Capabilities {
        context_window: context,
        max_output_tokens: u32::try_from(context / 2).unwrap_or(u32::MAX).min(8192),
        tools: template
            .as_ref()
            .is_some_and(|t| t.tool_call_format().is_some()),
        vision: false,
        thinking: template.as_ref().is_some_and(ChatTemplate::thinks),
        prompt_caching: false,
    }
}

/// Runs blocking work (loading a model, encoding texts) off the async workers when a
/// tokio runtime is present, inline otherwise.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::Engine(format!("the model task failed: {e}")))?,
        Err(_) => f(),
    }
}

impl Inner {
    /// Loads the model and renders the prompt: everything before the first token.
    fn prepare(&self, request: &ModelRequest) -> Result<StreamState> {
        let model = self.chat_model(&request.model)?;
        let template = model.template();
        // `thinking_budget: Some(0)` asks for no thinking: Qwen 3's `enable_thinking`.
        let prompt = template.render_with(
            request.system.as_deref(),
            &request.messages,
            &request.tools,
            request.thinking_budget.map(|b| b > 0),
        )?;
        let parser = OutputParser::new(
            template.tool_call_format().is_some() && !request.tools.is_empty(),
            template.thinks(),
            "call_",
        );
        let rx = model
            .generate(prompt, request.max_tokens, self.sampling(request))
            .into_receiver();
        Ok(StreamState {
            rx,
            parser,
            queue: std::collections::VecDeque::new(),
            done: false,
            _model: model,
        })
    }
}

impl ModelProvider for LocalProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn capabilities(&self, model: &str) -> Capabilities {
        match self.inner.metadata(model) {
            Ok(meta) => capabilities_from(&meta, &self.inner.options.engine),
            Err(_) => Capabilities {
                context_window: 2048,
                max_output_tokens: 1024,
                tools: false,
                ..Capabilities::default()
            },
        }
    }

    fn invoke(&self, request: ModelRequest) -> ChunkStream {
        let inner = self.inner.clone();
        let start = async move {
            let prepared = blocking(move || inner.prepare(&request)).await;
            match prepared {
                Ok(state) => futures::stream::unfold(state, next_chunk).left_stream(),
                Err(e) => {
                    let e = e.into_model_error(PROVIDER_NAME);
                    futures::stream::once(async move { Err(e) }).right_stream()
                }
            }
        };
        Box::pin(futures::stream::once(start).flatten().fuse())
    }

    fn embed<'a>(
        &'a self,
        texts: &'a [String],
    ) -> BoxFuture<'a, std::result::Result<Vec<Vec<f32>>, ModelError>> {
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        Box::pin(async move {
            blocking(move || inner.embed(&texts))
                .await
                .map_err(|e| e.into_model_error(PROVIDER_NAME))
        })
    }

    /// Whether a chat model is there and loads: the first registered model, else the
    /// store's first chat model. Loading it here means the first request starts at once.
    fn is_available(&self) -> BoxFuture<'_, bool> {
        let inner = self.inner.clone();
        Box::pin(async move {
            blocking(move || {
                // A registered GGUF file first (registered directories may be embedders).
                let registered = lock(&inner.registered)
                    .iter()
                    .filter(|(_, p)| p.extension().is_some_and(|x| x == "gguf"))
                    .map(|(n, _)| n.clone())
                    .min();
                let name = match registered {
                    Some(n) => n,
                    None => inner
                        .store
                        .as_ref()
                        .and_then(|s| s.list().ok())
                        .and_then(|l| l.into_iter().find(|e| e.kind == ModelKind::Chat))
                        .map(|e| e.name)
                        .ok_or_else(|| Error::NotFound("(a chat model)".into()))?,
                };
                inner.chat_model(&name).map(|_| ())
            })
            .await
            .is_ok()
        })
    }

    /// Zero: local inference has no per-token price (see the module docs).
    fn estimate_cost(&self, _request: &ModelRequest) -> Option<Cost> {
        Some(Cost::default())
    }

    fn cost(&self, _model: &str, _usage: &Usage) -> Option<Cost> {
        Some(Cost::default())
    }
}

struct StreamState {
    rx: tokio::sync::mpsc::Receiver<GenEvent>,
    parser: OutputParser,
    queue: std::collections::VecDeque<std::result::Result<ModelChunk, ModelError>>,
    done: bool,
    /// Keeps the model (and its worker) alive while the stream is.
    _model: Arc<ChatModel>,
}

async fn next_chunk(
    mut s: StreamState,
) -> Option<(std::result::Result<ModelChunk, ModelError>, StreamState)> {
    loop {
        if let Some(item) = s.queue.pop_front() {
            return Some((item, s));
        }
        if s.done {
            return None;
        }
        let Some(event) = s.rx.recv().await else {
            s.done = true;
            s.queue.push_back(Err(ModelError::new(
                PROVIDER_NAME,
                ModelErrorKind::StreamCut,
                "the model stopped before finishing its answer",
            )));
            continue;
        };
        match event {
            GenEvent::Prompt { .. } => {}
            GenEvent::Token { text, .. } => {
                if !text.is_empty() {
                    s.queue.extend(s.parser.push(&text).into_iter().map(Ok));
                }
            }
            GenEvent::Done {
                reason,
                prompt_tokens,
                generated,
                ..
            } => {
                s.queue.extend(s.parser.finish().into_iter().map(Ok));
                s.queue.push_back(Ok(ModelChunk::Usage {
                    usage: Usage {
                        input_tokens: prompt_tokens as u64,
                        output_tokens: generated as u64,
                        ..Usage::default()
                    },
                }));
                let reason = if s.parser.tool_calls() > 0 {
                    StopReason::ToolUse
                } else {
                    match reason {
                        FinishReason::Stop => StopReason::EndTurn,
                        // A loop cut short is a cut answer, as one at the limit.
                        FinishReason::Length | FinishReason::Repetition { .. } => {
                            StopReason::MaxTokens
                        }
                    }
                };
                s.queue.push_back(Ok(ModelChunk::Stop { reason }));
                s.done = true;
            }
            GenEvent::Error(e) => {
                s.queue.push_back(Err(e.into_model_error(PROVIDER_NAME)));
                s.done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{Value, write_header};

    fn meta(template: &str, ctx: u64) -> GgufMetadata {
        let bytes = write_header(&[
            ("general.architecture", Value::String("qwen3".into())),
            ("qwen3.context_length", Value::U64(ctx)),
            ("tokenizer.chat_template", Value::String(template.into())),
        ]);
        GgufMetadata::from_reader(&bytes[..]).unwrap()
    }

    #[test]
    fn capabilities_follow_the_gguf_header_and_template() {
        let options = EngineOptions {
            max_context: 8192,
            ..EngineOptions::default()
        };
        let qwen = "{% if tools %}{{ tools | tojson }}<tool_call>{% endif %}{% for m in messages %}<think>{{ m.content }}{% endfor %}";
        let c = capabilities_from(&meta(qwen, 40960), &options);
        assert_eq!((c.context_window, c.max_output_tokens), (8192, 4096));
        assert!(c.tools && c.thinking && !c.vision && !c.prompt_caching);
        let plain = capabilities_from(&meta(crate::template::CHATML, 2048), &options);
        assert_eq!(plain.context_window, 2048);
        assert!(!plain.tools && !plain.thinking);
    }

    #[tokio::test]
    async fn cost_is_zero_and_known() {
        let p = LocalProvider::new(None, LocalOptions::default());
        let request = ModelRequest {
            model: "x".into(),
            system: None,
            messages: vec![],
            tools: vec![],
            max_tokens: 10,
            temperature: None,
            stream: true,
            thinking_budget: None,
        };
        assert_eq!(p.estimate_cost(&request), Some(Cost::default()));
        assert_eq!(p.cost("x", &Usage::default()), Some(Cost::default()));
        assert_eq!(p.name(), "local");
        // An unknown model still answers conservative capabilities.
        assert_eq!(p.capabilities("nope").context_window, 2048);
    }
}
