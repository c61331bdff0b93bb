//! Local chat with SmolLM2 (GGUF on llama.cpp): greedy tokens equal llama.cpp's
//! reference, the provider streams text, usage and a stop reason, dropping the stream
//! stops generation, sampling is seeded.

use std::time::{Duration, Instant};

use cuervo_domain::{ModelChunk, ModelProvider, ModelRequest, StopReason};
use cuervo_local::{
    ChatModel, EngineOptions, FinishReason, GenEvent, LocalOptions, LocalProvider, SamplingParams,
};
use futures::StreamExt;
use pretty_assertions::assert_eq;

use super::common::{fixture, smollm2};

fn options() -> EngineOptions {
    EngineOptions {
        threads: 2,
        max_context: 2048,
        batch: 512,
        flash_attention: false,
    }
}

fn run(
    model: &ChatModel,
    prompt: &str,
    max: u32,
    sampling: SamplingParams,
) -> (Vec<u32>, String, FinishReason, usize) {
    let mut g = model.generate(prompt.to_owned(), max, sampling);
    let (mut ids, mut text) = (Vec::new(), String::new());
    loop {
        match g.blocking_next().expect("a Done event") {
            GenEvent::Prompt { .. } => {}
            GenEvent::Token { id, text: t } => {
                ids.extend(id);
                text.push_str(&t);
            }
            GenEvent::Done {
                reason,
                prompt_tokens,
                ..
            } => return (ids, text, reason, prompt_tokens),
            GenEvent::Error(e) => panic!("{e}"),
        }
    }
}

#[test]
fn greedy_decoding_matches_the_llama_cpp_reference() {
    // The reference was made by llama.cpp built for x86-64-v3 (AVX2, FMA, F16C); other
    // kernels sum in another order and may flip a near-tie.
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            cuervo_local::chat::LLAMA_SIMD,
            "avx2",
            "llama.cpp was built without AVX2: build with the GGML_* variables of \
             .cargo/config.toml (see docs/adr/0001-local-model-runtime.md)"
        );
    }
    let fx = fixture("smollm2-greedy.json");
    let model = ChatModel::load(&smollm2(), &options()).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let system = case["system"].as_str();
        let user = case["user"].as_str().unwrap();
        // The template from the file's metadata renders as Jinja2 rendered it.
        let prompt = model
            .template()
            .render(system, &[cuervo_domain::Message::user(user)], &[])
            .unwrap();
        assert_eq!(prompt, case["prompt"].as_str().unwrap(), "{name}: prompt");
        let want_prompt: Vec<u32> = serde_json::from_value(case["prompt_tokens"].clone()).unwrap();
        assert_eq!(
            model.tokenize(&prompt).unwrap(),
            want_prompt,
            "{name}: prompt tokens"
        );

        let max = fx["max_new_tokens"].as_u64().unwrap() as u32;
        let (ids, text, reason, prompt_tokens) =
            run(&model, &prompt, max, SamplingParams::greedy());
        let want: Vec<u32> = serde_json::from_value(case["generated_tokens"].clone()).unwrap();
        assert_eq!(ids, want, "{name}: generated tokens");
        assert_eq!(
            text,
            case["generated_text"].as_str().unwrap(),
            "{name}: text"
        );
        assert_eq!(prompt_tokens, want_prompt.len());
        let stopped = case["stopped_at_eog"].as_bool().unwrap();
        assert_eq!(
            reason == FinishReason::Stop,
            stopped,
            "{name}: finish reason"
        );
    }
}

#[test]
fn the_kv_cache_is_reused_for_a_continued_conversation() {
    let model = ChatModel::load(&smollm2(), &options()).unwrap();
    let t = model.template();
    let first = t
        .render(None, &[cuervo_domain::Message::user("Name a colour.")], &[])
        .unwrap();
    let (_, answer, _, _) = run(&model, &first, 8, SamplingParams::greedy());
    let second = t
        .render(
            None,
            &[
                cuervo_domain::Message::user("Name a colour."),
                cuervo_domain::Message::assistant_text(answer),
                cuervo_domain::Message::user("And another one?"),
            ],
            &[],
        )
        .unwrap();
    let mut g = model.generate(second, 4, SamplingParams::greedy());
    match g.blocking_next() {
        Some(GenEvent::Prompt { tokens, reused }) => {
            assert!(
                reused > 10 && reused < tokens,
                "reused {reused} of {tokens}"
            );
        }
        other => panic!("expected Prompt, got {other:?}"),
    }
}

#[test]
fn seeded_sampling_repeats_and_greedy_ignores_the_seed() {
    let model = ChatModel::load(&smollm2(), &options()).unwrap();
    let prompt = model
        .template()
        .render(
            None,
            &[cuervo_domain::Message::user("Tell me a fun fact.")],
            &[],
        )
        .unwrap();
    let hot = |seed| SamplingParams {
        temperature: 1.0,
        top_p: 0.95,
        seed,
        ..SamplingParams::greedy()
    };
    let a = run(&model, &prompt, 24, hot(7)).0;
    assert_eq!(a, run(&model, &prompt, 24, hot(7)).0);
    let others: Vec<Vec<u32>> = (8..11)
        .map(|s| run(&model, &prompt, 24, hot(s)).0)
        .collect();
    assert!(
        others.iter().any(|o| *o != a),
        "different seeds gave the same tokens"
    );
    let g = |seed| SamplingParams {
        seed,
        ..SamplingParams::greedy()
    };
    assert_eq!(
        run(&model, &prompt, 12, g(1)).0,
        run(&model, &prompt, 12, g(2)).0
    );
}

fn provider() -> LocalProvider {
    let p = LocalProvider::new(
        None,
        LocalOptions {
            engine: options(),
            seed: Some(1),
            // Plain greedy decoding, as the llama.cpp reference was made.
            repeat_penalty: 1.0,
            repetition_stop: None,
            ..LocalOptions::default()
        },
    );
    p.register("smollm2", smollm2());
    p
}

fn request(text: &str, max_tokens: u32) -> ModelRequest {
    ModelRequest {
        model: "smollm2".into(),
        system: None,
        messages: vec![cuervo_domain::Message::user(text)],
        tools: vec![],
        max_tokens,
        temperature: Some(0.0),
        stream: true,
        thinking_budget: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_streams_text_then_usage_then_stop() {
    let fx = fixture("smollm2-greedy.json");
    // A case where the model ends its turn by itself.
    let case = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["stopped_at_eog"] == true && c["system"].is_null())
        .expect("a fixture case that stops");
    let p = provider();
    let chunks: Vec<ModelChunk> = p
        .invoke(request(case["user"].as_str().unwrap(), 64))
        .map(|c| c.unwrap())
        .collect()
        .await;
    let text: String = chunks
        .iter()
        .filter_map(|c| match c {
            ModelChunk::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, case["generated_text"].as_str().unwrap());
    assert!(
        chunks
            .iter()
            .filter(|c| matches!(c, ModelChunk::Text { .. }))
            .count()
            > 3,
        "streamed in pieces"
    );
    let n = chunks.len();
    let ModelChunk::Usage { usage } = &chunks[n - 2] else {
        panic!("{:?}", chunks[n - 2])
    };
    assert_eq!(
        usage.input_tokens as usize,
        case["prompt_tokens"].as_array().unwrap().len()
    );
    assert_eq!(
        usage.output_tokens as usize,
        case["generated_tokens"].as_array().unwrap().len()
    );
    assert_eq!(
        chunks[n - 1],
        ModelChunk::Stop {
            reason: StopReason::EndTurn
        }
    );

    let capped: Vec<ModelChunk> = p
        .invoke(request("Write a poem about rain.", 5))
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(
        capped.last(),
        Some(&ModelChunk::Stop {
            reason: StopReason::MaxTokens
        })
    );

    let caps = p.capabilities("smollm2");
    assert_eq!(
        (caps.context_window, caps.tools, caps.vision),
        (2048, false, false)
    );
    assert_eq!(
        p.cost("smollm2", &Default::default()),
        Some(Default::default())
    );
    assert!(p.is_available().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_generation_promptly() {
    let p = provider();
    let mut stream = p.invoke(request(
        "Write a very long essay about the history of Europe.",
        100_000,
    ));
    let mut pieces = 0;
    while pieces < 3 {
        match stream.next().await {
            Some(Ok(ModelChunk::Text { .. })) => pieces += 1,
            Some(Ok(_)) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    drop(stream);
    // The worker takes jobs one at a time: tokenize answers only once generation stopped.
    let model = p.chat_model("smollm2").unwrap();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || model.tokenize("hello").unwrap())
        .await
        .unwrap();
    // Not a timing benchmark: generation left running would hold the worker for the
    // whole 8,192-token context (about a minute), so a generous bound tells them apart.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "generation went on for {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_model_is_an_error_that_says_what_to_do() {
    let p = LocalProvider::new(None, LocalOptions::default());
    let first = p
        .invoke(request("hi", 4))
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        first.message.contains("cuervo models import"),
        "{}",
        first.message
    );
    assert!(!p.is_available().await);
}

/// Cuervo's system prompt as the CLI sends it (`cuervo_core::prompt`), for a project at a
/// fixed place and date.
const AGENT_SYSTEM: &str = "\
You are Cuervo, an AI coding agent working in the user's terminal, inside their project.
You help with software engineering: reading and explaining code, fixing bugs, adding
features, refactoring, writing tests, and running the project's commands.

How to work:
- Use the tools to look before you change: read the relevant files, search with grep and
  glob, and follow the project's existing conventions, libraries and style.
- Make changes with the edit tool (exact-string replacement) or write for new files.
  Keep changes minimal and focused on the task.
- Verify your work: run the project's tests, build or linter with bash when you can.
- Paths are relative to the project root. Do not touch files outside it unless asked.
- A tool call may be refused by the user's permission settings; when that happens, do not
  retry the same call: continue another way or explain what the user must allow.
- Be concise. When you are done, say briefly what you changed and how you checked it.

Environment:
- Project root: /home/user/project
- Git repository: yes
- Platform: linux
- Today's date: 2026-12-07
";

/// What a provider answered: the text, the output tokens and the stop reason.
async fn answer(p: &LocalProvider, request: ModelRequest) -> (String, u64, StopReason) {
    let chunks: Vec<ModelChunk> = p.invoke(request).map(|c| c.unwrap()).collect().await;
    let mut text = String::new();
    let (mut tokens, mut stop) = (0, None);
    for c in chunks {
        match c {
            ModelChunk::Text { text: t } => text.push_str(&t),
            ModelChunk::Usage { usage } => tokens = usage.output_tokens,
            ModelChunk::Stop { reason } => stop = Some(reason),
            _ => {}
        }
    }
    (text, tokens, stop.expect("a stop reason"))
}

/// SmolLM2, asked to read a file, used to answer with `# Cargo.toml` over and over until
/// `max_tokens` (7,886 tokens and 47 minutes from `cuervo -p`): greedy decoding with no
/// repetition penalty. The local defaults now penalise recent tokens, and a loop that
/// happens anyway is cut as soon as it repeats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smollm2_reading_a_file_does_not_loop_until_max_tokens() {
    const MAX: u32 = 512;
    let ask = || ModelRequest {
        system: Some(AGENT_SYSTEM.to_owned()),
        temperature: None,
        ..request("read Cargo.toml and tell me the package name", MAX)
    };
    let with = |o: LocalOptions| {
        let engine = EngineOptions {
            max_context: 8192,
            ..options()
        };
        let p = LocalProvider::new(None, LocalOptions { engine, ..o });
        p.register("smollm2", smollm2());
        p
    };

    // The defaults: the model ends its answer by itself.
    let defaults = with(LocalOptions::default());
    let (text, tokens, stop) = answer(&defaults, ask()).await;
    assert_eq!(stop, StopReason::EndTurn, "{tokens} tokens: {text}");
    assert!(tokens < u64::from(MAX) / 2, "{tokens} tokens: {text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        !lines.windows(4).any(|w| w.iter().all(|l| *l == w[0])),
        "a line repeats: {text}"
    );

    // Without the penalty greedy decoding loops as before (which span it repeats depends
    // on the prompt to the byte), and the repetition stop cuts the loop short as a cut
    // answer: what the agent loop treats like `max_tokens`.
    let no_penalty = with(LocalOptions {
        repeat_penalty: 1.0,
        ..LocalOptions::default()
    });
    let (text, tokens, stop) = answer(&no_penalty, ask()).await;
    assert_eq!(stop, StopReason::MaxTokens, "{text}");
    assert!(tokens < u64::from(MAX) / 2, "{tokens} tokens: {text}");
}
