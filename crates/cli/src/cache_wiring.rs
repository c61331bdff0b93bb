//! The semantic response cache for `cuervo -p`: opt-in (`--semantic-cache`, or
//! `cache.semantic: true` in the config), single-shot only.
//!
//! Before the run, [`before_run`] embeds the prompt with the provider that would answer
//! it (its own `embed`, so the prompt goes nowhere it was not going; redacted as the model
//! would see it) and looks it up in the L2 cache (`cuervo_store::SemanticCache`) within
//! the run's scope: provider, model, tool specs and system prompt, built by the same
//! functions the run uses. A hit is printed instead of running, labelled as cached
//! ([`print_hit`]); a miss hands back an [`AfterRun`] that keeps the answer once the run
//! completed in one model call ([`cuervo_core::cache::semantic::cacheable`]).
//!
//! Never used for `--continue`/`--resume` (a conversation's answer depends on what was
//! said before) or with images (the embedding sees only the text). A provider without an
//! embeddings API (Anthropic) means no caching; the run says so once and goes on.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use cuervo_core::cache::{Lookup, Pending, SemanticResponses};
use cuervo_core::{RunOutcome, SessionStart};
use cuervo_domain::cache::DEFAULT_SIMILARITY;
use cuervo_domain::{AgentEvent, CacheScope, CachedResponse, Usage};
use cuervo_store::{SemanticCache, SemanticCacheConfig};
use serde_json::json;

use crate::config::Config;
use crate::options::RunOptions;
use crate::render::{OutputFormat, RunSummary};
use crate::setup::{self, ConfigModels, Env, Project, state};

/// How the semantic cache behaves when it is on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SemanticSettings {
    /// Cosine similarity a prompt must exceed to be answered from the cache.
    pub similarity: f32,
    /// How long an answer is served.
    pub ttl: Duration,
    /// The most bytes the cache keeps (least recently used answers go first).
    pub max_bytes: u64,
}

impl Default for SemanticSettings {
    fn default() -> Self {
        let store = SemanticCacheConfig::default();
        SemanticSettings {
            similarity: DEFAULT_SIMILARITY,
            ttl: store.ttl,
            max_bytes: store.max_bytes,
        }
    }
}

/// Why this run does not use the cache although it is on; `None` when it may.
pub fn ineligible(options: &RunOptions) -> Option<&'static str> {
    if !matches!(options.session, SessionStart::New) {
        Some("the semantic cache answers single prompts, not a continued conversation")
    } else if !options.images.is_empty() {
        Some("prompts with images are not cached")
    } else {
        None
    }
}

/// What the lookup before a run decided.
pub enum Before {
    /// A cached answer: print it with [`print_hit`] and do not run.
    Hit(Hit),
    /// Run, then call [`AfterRun::store`] with the outcome.
    Miss(AfterRun),
    /// The cache is not used for this run; the reason is for a `note:` line.
    Off(String),
}

/// A cached answer and the model it belongs to.
#[derive(Debug, Clone)]
pub struct Hit {
    pub cached: CachedResponse,
    pub provider: String,
    pub model: String,
}

/// A missed prompt waiting for its answer.
pub struct AfterRun {
    semantic: SemanticResponses,
    pending: Pending,
}

impl AfterRun {
    /// Keeps the run's answer when it may be cached. A failure is logged, never an error:
    /// the answer was already given.
    pub async fn store(self, outcome: &RunOutcome) {
        match self.semantic.store(self.pending, outcome).await {
            Ok(true) => tracing::debug!("semantic cache: answer kept"),
            Ok(false) => tracing::debug!("semantic cache: answer not cacheable (tools ran)"),
            Err(error) => tracing::warn!("semantic cache: {error}"),
        }
    }
}

/// Looks `prompt` up in the semantic cache before a headless run.
pub async fn before_run(
    settings: &SemanticSettings,
    options: &RunOptions,
    config: &Config,
    project: &Project,
    env: &Arc<Env>,
    prompt: &str,
) -> Result<Before> {
    if let Some(reason) = ineligible(options) {
        return Ok(Before::Off(reason.to_owned()));
    }
    let route = setup::resolve_model(config, options)?;
    let model = ConfigModels::new(config.clone(), env.clone()).build(&route)?;
    let scope = CacheScope::new(
        &model.provider_name,
        &model.model,
        &crate::conversation::tools(
            &crate::conversation::agents(config, project, env).0,
            crate::conversation::code_search(config, project, env),
        )
        .specs(),
        Some(&crate::conversation::system_prompt(project, &**env)),
    );
    // Embedded as the model would see it: keys in use and, per `privacy.redact`,
    // credentials never leave in an embedding request either.
    let env_fn: &Env = &**env;
    let key = setup::api_key(config, &route.provider, env_fn);
    let redact = state::model_redaction(
        state::known_secrets(config, env_fn, key),
        config.privacy.redact,
    );
    let text = redact(prompt).into_owned();
    let store = SemanticCache::new(state::open_db(env_fn)?).with_config(SemanticCacheConfig {
        ttl: settings.ttl,
        max_bytes: settings.max_bytes,
    });
    let semantic = SemanticResponses::new(model.provider.clone(), Arc::new(store))
        .with_threshold(settings.similarity);
    Ok(match semantic.lookup(scope, &text).await {
        Lookup::Hit(cached) => Before::Hit(Hit {
            cached,
            provider: model.provider_name,
            model: model.model,
        }),
        Lookup::Miss(pending) => Before::Miss(AfterRun { semantic, pending }),
        Lookup::Skipped(reason) => Before::Off(format!("semantic cache not used: {reason}")),
    })
}

/// The one-line label of a cached answer, for stderr.
pub fn hit_notice(cached: &CachedResponse) -> String {
    format!(
        "(cached answer from {}, similarity {:.2})",
        crate::clock::utc_minute(cached.created_at_ms),
        cached.similarity
    )
}

/// The result object of a cached answer: the usual `result` object with `"cached": true`
/// and a `cache` object (similarity, when the answer was stored). No session is created
/// and no model was called, so `session_id` is empty and `num_turns` 0; `cost_usd` is
/// `null` (the embedding request's price is not known).
pub fn hit_summary(hit: &Hit, started: Instant) -> serde_json::Value {
    let summary = RunSummary {
        kind: "result",
        is_error: false,
        cause: "completed".into(),
        result: hit.cached.response.clone(),
        error: None,
        session_id: String::new(),
        provider: hit.provider.clone(),
        model: hit.model.clone(),
        num_turns: 0,
        usage: Usage::default(),
        cost_usd: None,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let mut value = serde_json::to_value(&summary).unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("cached".into(), json!(true));
        object.insert(
            "cache".into(),
            json!({
                "similarity": hit.cached.similarity,
                "created_at": crate::clock::utc_minute(hit.cached.created_at_ms),
            }),
        );
    }
    value
}

/// Prints a cached answer in the run's output format: text on stdout with the label on
/// stderr; for `json` the result object; for `stream-json` the text as one `text_delta`
/// event, then the result object.
pub fn print_hit(
    format: OutputFormat,
    hit: &Hit,
    started: Instant,
    out: &mut impl Write,
    err: &mut impl Write,
) -> ExitCode {
    // Write errors (a closed pipe) change nothing: there is nothing left to save.
    let _ = (|| -> std::io::Result<()> {
        match format {
            OutputFormat::Text => {
                writeln!(err, "{}", hit_notice(&hit.cached))?;
                out.write_all(hit.cached.response.as_bytes())?;
                if !hit.cached.response.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            OutputFormat::Json => {
                writeln!(out, "{}", hit_summary(hit, started))?;
            }
            OutputFormat::StreamJson => {
                let delta = AgentEvent::TextDelta {
                    text: hit.cached.response.clone(),
                };
                writeln!(out, "{}", serde_json::to_string(&delta).unwrap_or_default())?;
                writeln!(out, "{}", hit_summary(hit, started))?;
            }
        }
        out.flush()
    })();
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit() -> Hit {
        Hit {
            cached: CachedResponse {
                response: "Forty-two.".into(),
                similarity: 0.973,
                created_at_ms: 1_700_000_000_000,
            },
            provider: "openai".into(),
            model: "gpt-4.1".into(),
        }
    }

    #[test]
    fn text_output_labels_the_hit_on_stderr() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        print_hit(
            OutputFormat::Text,
            &hit(),
            Instant::now(),
            &mut out,
            &mut err,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "Forty-two.\n");
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "(cached answer from 2023-11-14 22:13 UTC, similarity 0.97)\n"
        );
    }

    #[test]
    fn json_output_says_cached() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        print_hit(
            OutputFormat::Json,
            &hit(),
            Instant::now(),
            &mut out,
            &mut err,
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["cached"], json!(true));
        assert_eq!(value["result"], json!("Forty-two."));
        assert_eq!(value["model"], json!("gpt-4.1"));
        assert_eq!(value["cache"]["created_at"], json!("2023-11-14 22:13 UTC"));
        assert!(err.is_empty());

        let mut out = Vec::new();
        print_hit(
            OutputFormat::StreamJson,
            &hit(),
            Instant::now(),
            &mut out,
            &mut err,
        );
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["type"], json!("text_delta"));
        assert_eq!(lines[1]["cached"], json!(true));
    }

    /// The whole loop against the mock server's OpenAI endpoints (its embeddings are
    /// deterministic per text): a miss keeps the answer, the same prompt then hits, and
    /// another model or an answer that needed tools never does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_repeated_prompt_is_answered_from_the_cache_within_its_scope() {
        let server = cuervo_testkit::MockServer::start(cuervo_testkit::Script::new(vec![]))
            .await
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let vars: std::collections::HashMap<&str, String> = [
            ("OPENAI_BASE_URL", server.openai_base_url()),
            ("OPENAI_API_KEY", "sk-test".to_owned()),
            ("CUERVO_PROVIDER", "openai".to_owned()),
            ("XDG_DATA_HOME", data.path().display().to_string()),
        ]
        .into();
        let env: Arc<Env> = Arc::new(move |k: &str| vars.get(k).cloned());
        let config = crate::config::load(
            &crate::config::ConfigPaths {
                user: None,
                project: data.path().join("none.yml"),
            },
            &*env,
            false,
        )
        .unwrap();
        let project = Project {
            root: data.path().to_owned(),
            is_git: false,
        };
        let settings = SemanticSettings::default();
        let options = RunOptions::default();
        let before_with = |config: Config, options: RunOptions, prompt: &'static str| {
            let (project, env) = (project.clone(), env.clone());
            async move {
                before_run(&settings, &options, &config, &project, &env, prompt)
                    .await
                    .unwrap()
            }
        };
        let before = |options: RunOptions, prompt: &'static str| {
            before_with(config.clone(), options, prompt)
        };
        let outcome = |turns, result: &str| RunOutcome {
            cause: cuervo_domain::StopCause::Completed,
            turns,
            usage: Usage::default(),
            result: result.into(),
        };

        let Before::Miss(after) = before(options.clone(), "what is 2+2?").await else {
            panic!("an empty cache misses");
        };
        after.store(&outcome(1, "4")).await;
        let Before::Hit(hit) = before(options.clone(), "what is 2+2?").await else {
            panic!("the same prompt hits");
        };
        assert_eq!(hit.cached.response, "4");
        assert!(hit.cached.similarity > 0.99);
        assert_eq!(hit.provider, "openai");

        // The composition root has merged `--model` into the config by now.
        let mut other_model = config.clone();
        other_model.model = Some("gpt-4.1-mini".into());
        assert!(matches!(
            before_with(other_model, options.clone(), "what is 2+2?").await,
            Before::Miss(_)
        ));

        let Before::Miss(after) = before(options.clone(), "list the files").await else {
            panic!("another prompt misses");
        };
        after.store(&outcome(2, "a.rs")).await;
        assert!(matches!(
            before(options.clone(), "list the files").await,
            Before::Miss(_)
        ));
        let continued = RunOptions {
            session: SessionStart::Continue,
            ..options
        };
        assert!(matches!(
            before(continued, "what is 2+2?").await,
            Before::Off(_)
        ));
    }

    #[test]
    fn only_new_sessions_without_images_are_eligible() {
        assert_eq!(ineligible(&RunOptions::default()), None);
        let resumed = RunOptions {
            session: SessionStart::Continue,
            ..RunOptions::default()
        };
        assert!(ineligible(&resumed).is_some());
        let with_image = RunOptions {
            images: vec!["a.png".into()],
            ..RunOptions::default()
        };
        assert!(ineligible(&with_image).is_some());
    }
}
