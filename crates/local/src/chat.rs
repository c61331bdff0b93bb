//! GGUF chat models on llama.cpp (through the `llama-cpp-2` bindings).
//!
//! A [`ChatModel`] owns one worker thread, which owns the llama.cpp model and its context
//! (a context is not `Send`). Requests go to the worker over a channel and tokens come
//! back over a bounded channel, so:
//! - generation never blocks an async runtime;
//! - dropping the receiving end stops generation at the next token (the worker checks
//!   before each step and when it sends);
//! - the KV cache survives between requests, and a request that starts with the previous
//!   conversation (the agent loop's next turn) only evaluates the new tokens.
//!
//! Tokenisation is llama.cpp's, from the file's `tokenizer.ggml.*` metadata; the prompt is
//! the file's chat template rendered by [`crate::template`], tokenised with special tokens
//! parsed (so `<|im_start|>` is one token), with BOS added only when the vocabulary asks
//! for it and the template did not already write it. Sampling is [`crate::sampler`]'s, on
//! the logits llama.cpp returns, so greedy decoding without a penalty is the plain argmax;
//! a generation that loops ends early when the sampling asks for a
//! [`RepetitionStop`](crate::sampler::RepetitionStop) ([`FinishReason::Repetition`]).

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use crate::detok::Utf8Stream;
use crate::error::{Error, Result};
use crate::gguf::GgufMetadata;
use crate::sampler::{Sampler, SamplingParams};
use crate::template::{CHATML, ChatTemplate};

/// The x86 SIMD level llama.cpp was built with: `avx2` (AVX2 + FMA + F16C, from the
/// `GGML_*` variables in the workspace's `.cargo/config.toml` or from `-C target-cpu`),
/// `baseline` (SSE2 only: about 4x slower), or `native-arch` (not x86-64: llama.cpp
/// picks the architecture's own kernels).
pub const LLAMA_SIMD: &str = env!("CUERVO_LLAMA_SIMD");

/// How a model is loaded and run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// CPU threads for llama.cpp (default: all available cores).
    pub threads: usize,
    /// The most context to allocate; the model's own `context_length` caps it. The KV
    /// cache grows with it, so the default (8192) keeps small machines comfortable.
    pub max_context: u32,
    /// Tokens evaluated per batch while reading the prompt.
    pub batch: u32,
    /// Use llama.cpp's flash-attention kernels. Off by default, as in llama-cpp-python
    /// (the reference the tests compare with): on CPU it changes the logits slightly,
    /// enough to flip a greedy choice between near-equal tokens.
    pub flash_attention: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_context: 8192,
            batch: 512,
            flash_attention: false,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-turn token.
    Stop,
    /// `max_tokens` were generated, or the context is full.
    Length,
    /// The answer was cut because it had fallen into a loop (the sampling's
    /// [`RepetitionStop`](crate::sampler::RepetitionStop)): the same span of `period`
    /// tokens `repeats` times in a row. A cut answer, like `Length`.
    Repetition { period: usize, repeats: usize },
}

/// What a generation reports, in order: one `Prompt`, then `Token`s, then `Done` (or an
/// `Error`).
#[derive(Debug)]
pub enum GenEvent {
    /// The prompt was evaluated: its length, and how many of its tokens the KV cache
    /// already held from the previous request.
    Prompt {
        tokens: usize,
        reused: usize,
    },
    /// A generated token (`id`) and the text it completed. `text` may be empty (half a
    /// character) or, with `id: None`, a final flush.
    Token {
        id: Option<u32>,
        text: String,
    },
    Done {
        reason: FinishReason,
        prompt_tokens: usize,
        generated: usize,
        /// Time spent evaluating the prompt and generating, for benchmarks.
        prompt_time: Duration,
        gen_time: Duration,
    },
    Error(Error),
}

/// A running generation. Dropping it stops the worker at the next token.
#[derive(Debug)]
pub struct Generation {
    rx: mpsc::Receiver<GenEvent>,
}

impl Generation {
    /// The next event, blocking the thread (not for use inside an async runtime).
    pub fn blocking_next(&mut self) -> Option<GenEvent> {
        self.rx.blocking_recv()
    }

    /// The next event.
    pub async fn next(&mut self) -> Option<GenEvent> {
        self.rx.recv().await
    }

    pub(crate) fn into_receiver(self) -> mpsc::Receiver<GenEvent> {
        self.rx
    }
}

enum Job {
    Generate {
        prompt: String,
        max_tokens: u32,
        sampling: SamplingParams,
        tx: mpsc::Sender<GenEvent>,
    },
    Tokenize {
        text: String,
        reply: std::sync::mpsc::Sender<Vec<u32>>,
    },
    Reset,
}

struct Loaded {
    context_length: u32,
    stop_tokens: HashSet<i32>,
}

/// A GGUF chat model loaded in llama.cpp, with its chat template.
pub struct ChatModel {
    path: PathBuf,
    metadata: GgufMetadata,
    template: ChatTemplate,
    context_length: u32,
    stop_tokens: HashSet<i32>,
    load_time: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

impl std::fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModel")
            .field("path", &self.path)
            .field("architecture", &self.metadata.architecture())
            .field("context_length", &self.context_length)
            .finish_non_exhaustive()
    }
}

fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<std::result::Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Engine(format!("cannot start llama.cpp: {e}")))
}

impl ChatModel {
    /// Loads the GGUF file at `path`: reads its metadata and template, starts the worker
    /// and waits until llama.cpp has the weights in memory.
    pub fn load(path: &Path, options: &EngineOptions) -> Result<Self> {
        let started = Instant::now();
        let metadata = GgufMetadata::read(path)?;
        if metadata.is_embedding_model() {
            return Err(Error::Gguf {
                path: path.to_path_buf(),
                reason: format!(
                    "`{}` is an embedding model, not a chat model",
                    metadata.architecture().unwrap_or_default()
                ),
            });
        }
        let template = ChatTemplate::new(
            metadata.chat_template().unwrap_or(CHATML),
            metadata.bos_token(),
            metadata.eos_token(),
        )?;
        let markers: Vec<String> = template
            .end_markers()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (jobs, jobs_rx) = std::sync::mpsc::channel();
        let worker_path = path.to_path_buf();
        let options = options.clone();
        std::thread::Builder::new()
            .name("cuervo-llama".into())
            .spawn(move || worker(&worker_path, &options, &markers, ready_tx, jobs_rx))
            .map_err(|e| Error::Engine(format!("cannot start the model thread: {e}")))?;
        let loaded = ready_rx
            .recv()
            .map_err(|_| Error::Engine("the model thread stopped while loading".into()))??;
        Ok(Self {
            path: path.to_path_buf(),
            metadata,
            template,
            context_length: loaded.context_length,
            stop_tokens: loaded.stop_tokens,
            load_time: started.elapsed(),
            jobs,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metadata(&self) -> &GgufMetadata {
        &self.metadata
    }

    pub fn template(&self) -> &ChatTemplate {
        &self.template
    }

    /// The context allocated (the model's trained length capped by the options).
    pub fn context_length(&self) -> u32 {
        self.context_length
    }

    /// The tokens that end a turn: EOS/EOT and the template's end markers.
    pub fn stop_tokens(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .stop_tokens
            .iter()
            .filter_map(|&t| u32::try_from(t).ok())
            .collect();
        v.sort_unstable();
        v
    }

    /// How long [`ChatModel::load`] took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Tokenises `text` as a prompt is tokenised (special tokens parsed, BOS as the
    /// vocabulary says).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.jobs
            .send(Job::Tokenize {
                text: text.to_owned(),
                reply,
            })
            .map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())
    }

    /// Empties the KV cache, so the next prompt is evaluated from its first token
    /// (benchmarks; never needed for correctness).
    pub fn reset(&self) {
        let _ = self.jobs.send(Job::Reset);
    }

    /// Starts generating a continuation of `prompt` (already rendered through the
    /// template). Events arrive on the returned [`Generation`].
    pub fn generate(
        &self,
        prompt: String,
        max_tokens: u32,
        sampling: SamplingParams,
    ) -> Generation {
        let (tx, rx) = mpsc::channel(64);
        let job = Job::Generate {
            prompt,
            max_tokens,
            sampling,
            tx,
        };
        if let Err(std::sync::mpsc::SendError(Job::Generate { tx, .. })) = self.jobs.send(job) {
            let _ = tx.try_send(GenEvent::Error(stopped()));
        }
        Generation { rx }
    }
}

fn stopped() -> Error {
    Error::Engine("the model thread has stopped".into())
}

fn worker(
    path: &Path,
    options: &EngineOptions,
    markers: &[String],
    ready: std::sync::mpsc::Sender<Result<Loaded>>,
    jobs: std::sync::mpsc::Receiver<Job>,
) {
    let setup = || -> Result<(&'static LlamaBackend, LlamaModel)> {
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| Error::Gguf {
                path: path.to_path_buf(),
                reason: format!("llama.cpp cannot load it ({e})"),
            })?;
        Ok((backend, model))
    };
    let (backend, model) = match setup() {
        Ok(v) => v,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let n_ctx = model.n_ctx_train().clamp(256, options.max_context.max(256));
    let threads = i32::try_from(options.threads.max(1)).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(options.batch)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        // llama.cpp's LLAMA_FLASH_ATTN_TYPE_ENABLED (1) / _DISABLED (0).
        .with_flash_attention_policy(i32::from(options.flash_attention));
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(Error::Engine(format!("cannot create a context: {e}"))));
            return;
        }
    };
    let vocab = model.vocab();
    let mut stop_tokens: HashSet<i32> = vocab
        .tokens()
        .filter(|&t| vocab.is_eog(t))
        .map(|t| t.0)
        .collect();
    for marker in markers {
        if let [t] = vocab.tokenize(marker.as_bytes(), false, true)[..] {
            stop_tokens.insert(t.0);
        }
    }
    let _ = ready.send(Ok(Loaded {
        context_length: n_ctx,
        stop_tokens: stop_tokens.clone(),
    }));

    let mut engine = Engine {
        model: &model,
        batch: LlamaBatch::new(options.batch.max(1) as usize, 1),
        n_batch: options.batch.max(1) as usize,
        n_ctx: n_ctx as usize,
        cached: Vec::new(),
        stop_tokens,
    };
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Tokenize { text, reply } => {
                let ids = engine.tokenize(&text).iter().map(|t| t.0 as u32).collect();
                let _ = reply.send(ids);
            }
            Job::Reset => {
                engine.cached.clear();
                ctx.clear_kv_cache();
            }
            Job::Generate {
                prompt,
                max_tokens,
                sampling,
                tx,
            } => {
                if let Err(e) = engine.generate(&mut ctx, &prompt, max_tokens, sampling, &tx) {
                    // The cache may not match what was evaluated: start over next time.
                    engine.cached.clear();
                    ctx.clear_kv_cache();
                    let _ = tx.blocking_send(GenEvent::Error(e));
                }
            }
        }
    }
}

struct Engine<'m> {
    model: &'m LlamaModel,
    batch: LlamaBatch<'static>,
    n_batch: usize,
    n_ctx: usize,
    /// The tokens whose keys and values the context holds, in order.
    cached: Vec<LlamaToken>,
    stop_tokens: HashSet<i32>,
}

impl Engine<'_> {
    fn tokenize(&self, text: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let mut tokens = vocab.tokenize(text.as_bytes(), false, true);
        if vocab.should_add_bos() && tokens.first() != Some(&vocab.bos()) {
            tokens.insert(0, vocab.bos());
        }
        tokens
    }

    fn decode(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        tokens: &[LlamaToken],
        logits_last: bool,
    ) -> Result<()> {
        let start = self.cached.len();
        self.batch.clear();
        for (i, &t) in tokens.iter().enumerate() {
            let pos =
                i32::try_from(start + i).map_err(|_| Error::Engine("position overflow".into()))?;
            self.batch
                .add(t, pos, &[0], logits_last && i + 1 == tokens.len())
                .map_err(|e| Error::Engine(format!("batch: {e}")))?;
        }
        ctx.decode(&mut self.batch)
            .map_err(|e| Error::Engine(format!("decode: {e}")))?;
        self.cached.extend_from_slice(tokens);
        Ok(())
    }

    fn generate(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        prompt: &str,
        max_tokens: u32,
        sampling: SamplingParams,
        tx: &mpsc::Sender<GenEvent>,
    ) -> Result<()> {
        let started = Instant::now();
        let tokens = self.tokenize(prompt);
        if tokens.is_empty() {
            return Err(Error::Engine("the prompt is empty".into()));
        }
        if tokens.len() >= self.n_ctx {
            return Err(Error::ContextWindowExceeded {
                prompt: tokens.len(),
                context: self.n_ctx,
            });
        }
        // Reuse the cached prefix; the last prompt token is always evaluated again so
        // its logits are fresh.
        let mut reused = self
            .cached
            .iter()
            .zip(&tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len() - 1);
        if ctx.kv_cache_seq_rm(0, Some(reused as u32), None).is_err() {
            ctx.clear_kv_cache();
            reused = 0;
        }
        self.cached.truncate(reused);
        let rest = &tokens[reused..];
        let chunks: Vec<&[LlamaToken]> = rest.chunks(self.n_batch).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            if tx.is_closed() {
                return Ok(());
            }
            self.decode(ctx, chunk, i + 1 == chunks.len())?;
        }
        let prompt_time = started.elapsed();
        if tx
            .blocking_send(GenEvent::Prompt {
                tokens: tokens.len(),
                reused,
            })
            .is_err()
        {
            return Ok(());
        }

        let gen_started = Instant::now();
        let vocab = self.model.vocab();
        let mut sampler = Sampler::new(sampling);
        let mut utf8 = Utf8Stream::new();
        let mut logits_index = i32::try_from(chunks.last().map_or(1, |c| c.len()) - 1).unwrap_or(0);
        let budget = (max_tokens as usize).min(self.n_ctx - tokens.len());
        let mut generated = 0;
        let mut ids: Vec<u32> = Vec::new();
        let mut reason = FinishReason::Length;
        while generated < budget {
            if tx.is_closed() {
                return Ok(());
            }
            let logits = ctx.get_logits_ith(logits_index);
            let id = sampler.sample(logits) as i32;
            if self.stop_tokens.contains(&id) {
                reason = FinishReason::Stop;
                break;
            }
            generated += 1;
            sampler.accept(id as u32);
            let token = LlamaToken(id);
            let bytes = vocab.token_to_piece(token, false, None);
            let text = utf8.push(&bytes);
            if tx
                .blocking_send(GenEvent::Token {
                    id: Some(id as u32),
                    text,
                })
                .is_err()
            {
                return Ok(());
            }
            if let Some(stop) = &sampling.repetition_stop {
                ids.push(id as u32);
                if let Some(cycle) = stop.detect(&ids) {
                    tracing::warn!(
                        period = cycle.period,
                        repeats = cycle.repeats,
                        generated,
                        "the local model is repeating itself; its answer is cut here"
                    );
                    reason = FinishReason::Repetition {
                        period: cycle.period,
                        repeats: cycle.repeats,
                    };
                    break;
                }
            }
            if generated < budget {
                self.decode(ctx, &[token], true)?;
                logits_index = 0;
            }
        }
        let tail = utf8.finish();
        if !tail.is_empty() {
            let _ = tx.blocking_send(GenEvent::Token {
                id: None,
                text: tail,
            });
        }
        let _ = tx.blocking_send(GenEvent::Done {
            reason,
            prompt_tokens: tokens.len(),
            generated,
            prompt_time,
            gen_time: gen_started.elapsed(),
        });
        Ok(())
    }
}
