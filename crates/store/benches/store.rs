//! Session store benchmarks: loading a long session, and append throughput (one writer,
//! and two connections writing at once as two `cuervo` processes would).
//!
//! `cargo bench -p cuervo-store --bench store`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use cuervo_domain::{
    ContentBlock, Cost, Message, MessageRecord, Role, SessionId, ToolCall, ToolResult, Usage,
};
use cuervo_store::Db;
use cuervo_store::audit::{AuditLog, NewEntry, no_redaction};
use serde_json::json;

/// The i-th message of a realistic coding conversation: prompts, answers with tool calls,
/// and tool results of about a kilobyte.
fn record(i: usize) -> MessageRecord {
    let usage = Some(Usage {
        input_tokens: 12_000 + i as u64,
        output_tokens: 300,
        ..Usage::default()
    });
    match i % 4 {
        0 => MessageRecord {
            message: Message::user(format!(
                "step {i}: please look at src/module_{i}.rs and fix the failing test; keep the public API unchanged"
            )),
            model: None,
            usage: None,
            cost: None,
        },
        1 => MessageRecord {
            message: Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::Text {
                        text: "Let me read the file first to see what the test expects.".into(),
                    },
                    ContentBlock::ToolUse(ToolCall {
                        id: format!("call_{i}"),
                        name: "read".into(),
                        input: json!({"path": format!("src/module_{i}.rs")}),
                    }),
                ],
            },
            model: Some("claude-sonnet-4-5".into()),
            usage,
            cost: Some(Cost { micro_usd: 40_500 }),
        },
        2 => MessageRecord {
            message: Message::tool_results(vec![ToolResult {
                call_id: format!("call_{}", i - 1),
                content: "fn main() {\n    println!(\"hello\");\n}\n".repeat(25),
                is_error: false,
            }]),
            model: None,
            usage: None,
            cost: None,
        },
        _ => MessageRecord {
            message: Message::assistant_text(
                "The test fails because the parser drops the trailing newline. I changed `parse` to keep it and the test passes now.",
            ),
            model: Some("claude-sonnet-4-5".into()),
            usage,
            cost: Some(Cost { micro_usd: 41_000 }),
        },
    }
}

fn load_10k(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("cuervo.db")).expect("open");
    let id = SessionId("long-session".into());
    for i in 0..10_000 {
        db.append_message(&id, "/project", &record(i))
            .expect("append");
    }
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10k_message_session", |b| {
        b.iter(|| {
            let messages = db.messages(black_box(&id)).expect("load");
            assert_eq!(messages.len(), 10_000);
            messages
        })
    });
    group.finish();
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("cuervo.db")).expect("open");
    let id = SessionId("appends".into());
    let mut i = 0;
    group.bench_function("single_writer", |b| {
        b.iter(|| {
            i += 1;
            db.append_message(&id, "/project", &record(i))
                .expect("append")
        })
    });

    // Two connections (as two processes) appending at once to their own sessions: each
    // iteration is one message from each, so elements = 2.
    group.throughput(Throughput::Elements(2));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cuervo.db");
    let dbs = [
        Arc::new(Db::open(&path).expect("open")),
        Arc::new(Db::open(&path).expect("open")),
    ];
    group.bench_function("two_writers_wal", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            std::thread::scope(|scope| {
                for (w, db) in dbs.iter().enumerate() {
                    let db = db.clone();
                    scope.spawn(move || {
                        let id = SessionId(format!("writer-{w}"));
                        for i in 0..iters as usize {
                            db.append_message(&id, "/project", &record(i))
                                .expect("append");
                        }
                    });
                }
            });
            started.elapsed()
        })
    });
    group.finish();
}

/// Audit appends: each is a durable (`synchronous = FULL`) transaction plus an fsynced
/// checkpoint file, so one entry costs two fsyncs; a batch shares them.
fn audit(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Arc::new(Db::open(&dir.path().join("cuervo.db")).expect("open"));
    let log = AuditLog::new(db, no_redaction());
    let payload = json!({"call_id": "c1", "command": "cargo test --workspace", "exit_code": 0});
    group.throughput(Throughput::Elements(1));
    group.bench_function("append_one", |b| {
        b.iter(|| {
            log.append("bash_executed", Some("s"), payload.clone())
                .expect("append")
        })
    });
    group.throughput(Throughput::Elements(20));
    group.bench_function("append_batch_of_20", |b| {
        b.iter(|| {
            let batch = (0..20)
                .map(|_| NewEntry {
                    kind: "tool_executed".into(),
                    session_id: Some("s".into()),
                    payload: payload.clone(),
                })
                .collect();
            log.append_batch(batch).expect("append")
        })
    });
    group.finish();
    let started = Instant::now();
    let verified = log.verify().expect("verify");
    assert!(verified.is_intact());
    println!(
        "audit/verify: {} entries in {:.1} ms",
        verified.entries,
        started.elapsed().as_secs_f64() * 1000.0
    );
}

criterion_group!(benches, load_10k, append, audit);
criterion_main!(benches);
