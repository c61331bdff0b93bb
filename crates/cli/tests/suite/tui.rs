//! The interactive UI driven through a real pseudo-terminal against the mock server: what
//! a person sees (the screen, as a terminal emulator renders it) and what the model is
//! sent. Screens are snapshot-tested with insta.

use cuervo_testkit::tty::{Tty, rss_kib};
use cuervo_testkit::{Script, Step, Turn};
use portable_pty::CommandBuilder;
use serde_json::json;

use super::common::{Sandbox, Wire, mock};

const ROWS: u16 = 30;
const COLS: u16 = 100;

/// `cuervo ARGS` on a 100×30 terminal in the sandbox, with only the given environment.
pub(super) fn spawn(sandbox: &Sandbox, env: &[(String, String)], args: &[&str]) -> Tty {
    spawn_sized(sandbox, env, args, ROWS, COLS)
}

fn spawn_sized(
    sandbox: &Sandbox,
    env: &[(String, String)],
    args: &[&str],
    rows: u16,
    cols: u16,
) -> Tty {
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_cuervo"));
    cmd.args(args);
    cmd.cwd(sandbox.project.path());
    cmd.env_clear();
    cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("TERM", "xterm-256color");
    for (k, v) in sandbox.home.envs().into_iter().chain(env.iter().cloned()) {
        cmd.env(k, v);
    }
    Tty::start(cmd, rows, cols)
}

/// Waits until the prompt is idle: the input box is shown and no spinner runs.
fn wait_idle(tty: &Tty) -> String {
    tty.wait("an idle prompt", |s| {
        s.contains("› ") && !s.contains("esc to interrupt") && s.contains(" · ctx ")
    })
}

/// The screen with what changes from run to run replaced: the temporary project path,
/// session ids and timings.
pub fn scrub(screen: &str, sandbox: &Sandbox) -> String {
    let project = sandbox
        .project
        .path()
        .canonicalize()
        .expect("project path")
        .display()
        .to_string();
    let mut out = screen.replace(&project, "[PROJECT]");
    out = out.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    for frame in ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"] {
        out = out.replace(frame, "⠿");
    }
    let mut scrubbed = String::with_capacity(out.len());
    for line in out.lines() {
        scrubbed.push_str(&scrub_line(line.trim_end()));
        scrubbed.push('\n');
    }
    scrubbed.trim_end().to_owned()
}

fn scrub_line(line: &str) -> String {
    // 16-hex-digit session ids.
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let boundary = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if run == 16 && boundary {
            out.push_str("[SESSION]");
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    // Durations: "1.2 s".
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(pos) = rest.find(" s") {
        let head = &rest[..pos];
        let digits = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .count();
        if digits > 0 && head[head.len() - digits..].contains('.') {
            result.push_str(&head[..head.len() - digits]);
            result.push_str("[T] s");
        } else {
            result.push_str(head);
            result.push_str(" s");
        }
        rest = &rest[pos + 2..];
    }
    result.push_str(rest);
    result
}

fn anthropic(server: &cuervo_testkit::MockServer) -> Vec<(String, String)> {
    Wire::Anthropic.env(server)
}

const ANSWER: &str = "# Plan\n\nI will **tidy** the `notes.txt` file:\n\n\
- fix the *typo*\n- keep the rest\n\n\
| step | status |\n|---|---|\n| read | done |\n| edit | next |\n\n\
```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_markdown_and_applies_an_approved_edit() {
    let sandbox = Sandbox::new();
    sandbox.write("notes.txt", "teh plan\n");
    let server = mock(Script::new(vec![
        Turn::steps(vec![
            Step::text(ANSWER),
            Step::tool_call(
                "edit",
                json!({"path": "notes.txt", "old_string": "teh", "new_string": "the"}),
            ),
        ]),
        Turn::text("Fixed the typo in **notes.txt**."),
    ]))
    .await;
    let mut tty = spawn_sized(&sandbox, &anthropic(&server), &[], 50, COLS);
    wait_idle(&tty);
    tty.line("tidy my notes");
    // The status line is drawn last: with it on screen, the frame is whole.
    let screen = tty.wait("the approval prompt", |s| {
        s.contains("Allow edit?") && s.contains(" · ctx ")
    });
    assert_eq!(
        sandbox.read("notes.txt"),
        "teh plan\n",
        "nothing runs before the answer"
    );
    insta::assert_snapshot!("edit_approval", scrub(&screen, &sandbox));
    tty.send("1");
    tty.wait_for("Fixed the typo");
    let screen = wait_idle(&tty);
    assert_eq!(sandbox.read("notes.txt"), "the plan\n");
    insta::assert_snapshot!("edit_applied", scrub(&screen, &sandbox));
    server.assert_tool_pairing();
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

/// Issue 14: plan mode ends with the plan on screen for approval; "accept edits" goes on
/// in auto-edit, so the edit that follows runs without another question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_plan_goes_on_in_auto_edit() {
    let sandbox = Sandbox::new();
    sandbox.write("notes.txt", "teh plan\n");
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "exit_plan_mode",
            json!({"plan": "1. Fix the typo in notes.txt\n2. Done"}),
        ),
        Turn::tool_call(
            "edit",
            json!({"path": "notes.txt", "old_string": "teh", "new_string": "the"}),
        ),
        Turn::text("Fixed as planned."),
    ]))
    .await;
    let mut tty = spawn_sized(
        &sandbox,
        &anthropic(&server),
        &["--permission-mode", "plan"],
        40,
        COLS,
    );
    wait_idle(&tty);
    tty.line("fix my notes");
    let screen = tty.wait("the plan dialog", |s| {
        s.contains("Approve the plan?") && s.contains(" · ctx ")
    });
    assert!(screen.contains("1. Fix the typo in notes.txt"), "{screen}");
    assert!(
        screen.contains("Yes, and accept edits without asking"),
        "{screen}"
    );
    assert_eq!(sandbox.read("notes.txt"), "teh plan\n");
    tty.send("2");
    tty.wait_for("Fixed as planned.");
    let screen = wait_idle(&tty);
    assert!(
        screen.contains("auto-edit"),
        "the status line shows the new mode: {screen}"
    );
    assert!(
        !screen.contains("Allow edit?"),
        "no second question: {screen}"
    );
    assert_eq!(sandbox.read("notes.txt"), "the plan\n");
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

/// Issue 14: a sub-agent's work is one line that folds when it is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_agent_shows_as_one_folded_line() {
    let sandbox = Sandbox::new();
    sandbox.write("src/retry.rs", "pub fn retry() {}\n");
    let server = mock(Script::new(vec![
        Turn::tool_call(
            "task",
            json!({"agent": "explorer", "description": "find the retry code", "prompt": "Where is retry defined?"}),
        ),
        Turn::tool_call("grep", json!({"pattern": "fn retry"})),
        Turn::text("src/retry.rs:1"),
        Turn::text("It is in src/retry.rs."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("where is retry?");
    tty.wait_for("It is in src/retry.rs.");
    let screen = wait_idle(&tty);
    let line = screen
        .lines()
        .find(|l| l.contains("explorer-1"))
        .unwrap_or_else(|| panic!("a line for the sub-agent: {screen}"));
    assert!(
        line.contains("✓ explorer-1 · find the retry code · 1 tool call"),
        "{line}"
    );
    assert_eq!(
        screen.lines().filter(|l| l.contains("explorer-1")).count(),
        1,
        "folded into one line: {screen}"
    );
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_a_command_with_feedback_tells_the_model() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::tool_call("bash", json!({"command": "rm -rf build"})),
        Turn::text("Understood, I will run make clean instead."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("clean the build");
    tty.wait_for("Allow bash?");
    let screen = tty.screen();
    assert!(
        screen.contains("rm -rf build"),
        "the command is shown: {screen}"
    );
    tty.send("5");
    tty.wait_for("What should Cuervo do instead?");
    tty.line("use make clean");
    tty.wait_for("run make clean instead");
    let screen = wait_idle(&tty);
    insta::assert_snapshot!("bash_denied", scrub(&screen, &sandbox));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let told = super::common::last_tool_result(&requests[1]);
    assert!(told.is_error);
    assert!(told.content.contains("use make clean"), "{}", told.content);
    tty.send("\u{3}");
    tty.wait_for("press ctrl+c again to exit");
    tty.send("\u{3}");
    assert_eq!(tty.exit_code(), 0);
}

/// A long answer streamed slowly: 300 pieces, 30 ms apart (about 9 s).
fn slow_answer() -> Turn {
    let steps = (0..300).map(|i| Step::text(format!("word{i} "))).collect();
    Turn::steps(steps).with_delay_ms(30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_interrupts_a_stream_and_the_next_prompt_works() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        slow_answer(),
        Turn::text("Short answer."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("write a long essay");
    // One paragraph, many rows: the input box and status line stay in view under it, and
    // what is typed meanwhile stays in the input.
    tty.wait_for("word120");
    tty.send("now briefly");
    tty.wait("the typed text under the stream", |s| {
        s.contains("› now briefly") && s.contains("esc to interrupt") && s.contains(" · ctx ")
    });
    tty.send("\u{1b}");
    let screen = tty.wait_for("Interrupted");
    assert!(!screen.contains("word299"), "the stream stopped: {screen}");
    let screen = wait_idle(&tty);
    assert!(
        screen.contains("› now briefly"),
        "type-ahead survives: {screen}"
    );
    tty.send("\r");
    tty.wait_for("Short answer.");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let texts: Vec<String> = requests[1].messages().iter().map(|m| m.text()).collect();
    assert_eq!(
        texts.first().map(String::as_str),
        Some("write a long essay")
    );
    assert_eq!(texts.last().map(String::as_str), Some("now briefly"));
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_mid_stream_rewraps_the_live_area() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![slow_answer().with_delay_ms(10)])).await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("stream please");
    tty.wait_for("word10");
    tty.resize(24, 60);
    tty.wait_for("word299");
    let screen = wait_idle(&tty);
    for line in screen.lines() {
        assert!(
            unicode_width::UnicodeWidthStr::width(line) <= 60,
            "a row is wider than the resized terminal: {line:?}\n{screen}"
        );
    }
    insta::assert_snapshot!("after_resize", scrub(&screen, &sandbox));
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_help_cost_context_and_custom_templates() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".cuervo/commands/review.md",
        "---\ndescription: review a file\n---\nReview $ARGUMENTS for bugs.\n",
    );
    let server = mock(Script::new(vec![
        Turn::text("Looks fine.").with_usage(1200, 30),
        Turn::text("## Summary\n- reviewed lib.rs").with_usage(1500, 40),
        Turn::text("Still here."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("/help");
    tty.wait("the custom command in /help", |s| {
        s.contains("/review") && s.contains("review a file")
    });
    tty.line("/review src/lib.rs");
    tty.wait_for("Looks fine.");
    wait_idle(&tty);
    let sent = server.requests()[0].messages()[0].text();
    assert_eq!(sent, "Review src/lib.rs for bugs.");
    tty.line("/cost");
    tty.wait("the cost", |s| {
        s.contains("tokens: 1,200 in · 30 out") && s.contains("cost $")
    });
    tty.line("/context");
    tty.wait_for("Context: ");
    let screen = tty.wait_for("free: ");
    assert!(screen.contains("system prompt"), "{screen}");
    tty.line("/compact");
    tty.wait_for("Compacted 2 messages");
    wait_idle(&tty);
    tty.line("are you there?");
    tty.wait_for("Still here.");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let after: Vec<String> = requests[2].messages().iter().map(|m| m.text()).collect();
    assert_eq!(
        after.len(),
        3,
        "summary, acknowledgement, new prompt: {after:?}"
    );
    assert!(after[0].contains("- reviewed lib.rs"), "{after:?}");
    tty.line("/nope");
    tty.wait_for("unknown command /nope");
    // The unknown command is back in the input; Ctrl-C clears it.
    tty.wait_for("› /nope");
    tty.send("\u{3}");
    tty.line("/exit");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_complete_and_attach_files_and_input_spans_lines() {
    let sandbox = Sandbox::new();
    sandbox.write("greeting.txt", "hello from the file\n");
    sandbox.write("ignored/secret.txt", "nope\n");
    sandbox.write(".gitignore", "ignored/\n");
    let server = mock(Script::new(vec![
        Turn::text("Got it."),
        Turn::text("Two lines."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    // The menu offers the project's files, but not what .gitignore hides.
    tty.send("@");
    let screen = tty.wait_for("greeting.txt");
    assert!(!screen.contains("secret.txt"), "{screen}");
    tty.send("\u{3}");
    tty.send("explain @gree");
    tty.wait_for("greeting.txt");
    tty.send("\t");
    tty.wait_for("explain @greeting.txt");
    tty.send("\r");
    tty.wait_for("Got it.");
    wait_idle(&tty);
    let sent = server.requests()[0].messages()[0].text();
    assert!(sent.starts_with("explain @greeting.txt"), "{sent}");
    assert!(sent.contains("hello from the file"), "{sent}");
    // Alt-Enter and a trailing backslash both start a new line.
    tty.send("first\u{1b}\rsecond\\");
    tty.send("\r");
    tty.send("third\r");
    tty.wait_for("Two lines.");
    let sent = server.requests()[1].messages().last().map(|m| m.text());
    assert_eq!(sent.as_deref(), Some("first\nsecond\nthird"));
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_carries_across_sessions_and_paste_is_one_event() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::text("One."),
        Turn::text("Two."),
        Turn::text("Three."),
    ]))
    .await;
    let env = anthropic(&server);
    {
        let mut tty = spawn(&sandbox, &env, &[]);
        wait_idle(&tty);
        tty.line("remember this prompt");
        tty.wait_for("One.");
        wait_idle(&tty);
        tty.send("\u{4}");
        assert_eq!(tty.exit_code(), 0);
    }
    let mut tty = spawn(&sandbox, &env, &[]);
    wait_idle(&tty);
    tty.send("\u{1b}[A");
    tty.wait_for("› remember this prompt");
    tty.send("\r");
    tty.wait_for("Two.");
    wait_idle(&tty);
    // A bracketed paste with newlines arrives as text, not as Enter presses.
    let pasted: String = (0..2000).map(|i| format!("pasted line {i}\n")).collect();
    tty.send(&format!("\u{1b}[200~{pasted}\u{1b}[201~"));
    tty.wait_for("pasted line 1999");
    assert_eq!(
        server.requests().len(),
        2,
        "the paste sent nothing by itself"
    );
    tty.send("\r");
    tty.wait_for("Three.");
    let sent = server.requests()[2]
        .messages()
        .last()
        .map(|m| m.text())
        .unwrap_or_default();
    assert_eq!(sent.lines().count(), 2000);
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

/// A long answer: headings, a list, a table and a code block, about 3 KB.
fn long_answer(n: usize) -> String {
    let mut text = format!("## Answer {n}\n\n");
    for i in 0..12 {
        text.push_str(&format!(
            "- point {i} of answer {n}, with `code` and **bold** text to render\n"
        ));
    }
    text.push_str("\n| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\n```rust\n");
    for i in 0..20 {
        text.push_str(&format!("let value_{i} = compute({i}, \"answer {n}\");\n"));
    }
    text.push_str(&format!("```\n\nEnd of answer {n}.\n"));
    text
}

/// 500 turns with long answers: memory after the last turn stays within 20 MB of memory
/// after the first, because finished output lives in the terminal's scrollback and the
/// database, not in the UI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_500_turns_memory_stays_flat() {
    const TURNS: usize = 500;
    let sandbox = Sandbox::new();
    // 500 long answers fill the window: automatic compaction would take one of the
    // scripted answers for its summary. Memory over many turns is what is measured here.
    sandbox.user_config("auto_compact: null\n");
    let turns = (0..TURNS).map(|n| Turn::text(long_answer(n))).collect();
    let server = mock(Script::new(turns)).await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    let pid = tty.pid();
    let mut after_first = 0;
    for n in 0..TURNS {
        tty.line(&format!("question {n}"));
        tty.wait(&format!("answer {n}"), |s| {
            s.contains(&format!("End of answer {n}."))
                && s.contains("ctrl+d exit")
                && !s.contains("esc to interrupt")
        });
        if n == 0 {
            after_first = rss_kib(pid);
        }
    }
    let at_end = rss_kib(pid);
    let growth = at_end.saturating_sub(after_first);
    eprintln!(
        "soak: RSS after turn 1 = {:.1} MB, after turn {TURNS} = {:.1} MB, growth {:.1} MB",
        after_first as f64 / 1024.0,
        at_end as f64 / 1024.0,
        growth as f64 / 1024.0
    );
    assert!(
        growth < 20 * 1024,
        "RSS grew by {growth} KiB over {TURNS} turns ({after_first} KiB -> {at_end} KiB)"
    );
    assert_eq!(server.requests().len(), TURNS);
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_picker_switches_and_the_conversation_goes_on() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::text("From Claude."),
        Turn::text("From GPT."),
    ]))
    .await;
    let env = Wire::both(&server);
    let mut tty = spawn(&sandbox, &env, &[]);
    wait_idle(&tty);
    tty.line("hello");
    tty.wait_for("From Claude.");
    wait_idle(&tty);
    tty.line("/model");
    // The current model is selected.
    tty.wait("the model picker", |s| {
        s.contains("Switch model") && s.contains("❯ claude-sonnet-4-5")
    });
    tty.send("gpt-4.1");
    tty.wait_for("❯ gpt-4.1");
    tty.send("\r");
    tty.wait_for("Now using openai/gpt-4.1");
    let screen = wait_idle(&tty);
    assert!(
        screen.contains("gpt-4.1 · ask"),
        "the status line follows: {screen}"
    );
    tty.line("and now?");
    tty.wait_for("From GPT.");
    let requests = server.requests();
    assert_eq!(requests[1].model(), Some("gpt-4.1"));
    let texts: Vec<String> = requests[1].messages().iter().map(|m| m.text()).collect();
    assert_eq!(texts, ["hello", "From Claude.", "and now?"]);
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

/// Issue 13: a provider that keeps failing hands the turn to the fallback, and the UI says
/// so in one line instead of going quiet or printing log records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_model_hands_over_to_the_fallback_with_a_one_line_notice() {
    let sandbox = Sandbox::new();
    sandbox.user_config(
        "retry:\n  base_delay_ms: 20\nproviders:\n  anthropic:\n    max_retries: 1\n\
         routing:\n  fallback: [openai/gpt-4.1]\n",
    );
    let server = mock(Script::new(vec![
        Turn::status(500),
        Turn::status(500),
        Turn::text("From the fallback."),
    ]))
    .await;
    let env = Wire::both(&server);
    let mut tty = spawn(&sandbox, &env, &[]);
    wait_idle(&tty);
    tty.line("hello");
    tty.wait_for("From the fallback.");
    let screen = wait_idle(&tty);
    assert!(
        screen.contains("server error after 2 tries — continuing with openai/gpt-4.1"),
        "{screen}"
    );
    assert!(!screen.contains("WARN"), "{screen}");
    assert_eq!(server.requests()[2].model(), Some("gpt-4.1"));
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_clear_permissions_and_init() {
    let sandbox = Sandbox::new();
    sandbox.write("todo.txt", "buy milk\n");
    let server = mock(Script::new(vec![
        Turn::text("Noted the first thing."),
        Turn::text("Back again."),
        Turn::text("Fresh start."),
        Turn::tool_call(
            "edit",
            json!({"path": "todo.txt", "old_string": "milk", "new_string": "bread"}),
        ),
        Turn::text("Edited without asking."),
        Turn::text("I will write CUERVO.md."),
    ]))
    .await;
    let env = anthropic(&server);
    {
        let mut tty = spawn(&sandbox, &env, &[]);
        wait_idle(&tty);
        tty.line("the first thing");
        tty.wait_for("Noted the first thing.");
        wait_idle(&tty);
        tty.line("/exit");
        assert_eq!(tty.exit_code(), 0);
    }
    let mut tty = spawn(&sandbox, &env, &[]);
    wait_idle(&tty);
    tty.line("/resume");
    tty.wait_for("Resume a session");
    tty.wait_for("❯ the first thing");
    tty.send("\r");
    // The last exchange is replayed.
    tty.wait("the resumed session", |s| {
        s.contains("Resumed session") && s.contains("Noted the first thing.")
    });
    wait_idle(&tty);
    tty.line("still there?");
    tty.wait_for("Back again.");
    wait_idle(&tty);
    let texts: Vec<String> = server.requests()[1]
        .messages()
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(
        texts,
        ["the first thing", "Noted the first thing.", "still there?"]
    );

    tty.line("/clear");
    tty.wait_for("New conversation");
    wait_idle(&tty);
    tty.line("new topic");
    tty.wait_for("Fresh start.");
    wait_idle(&tty);
    assert_eq!(server.requests()[2].messages().len(), 1);

    tty.line("/permissions auto-edit");
    tty.wait_for("Permission mode is now auto-edit");
    let screen = wait_idle(&tty);
    assert!(screen.contains("· auto-edit ·"), "{screen}");
    tty.line("swap milk for bread");
    tty.wait_for("Edited without asking.");
    assert_eq!(sandbox.read("todo.txt"), "buy bread\n");
    wait_idle(&tty);

    tty.line("/init");
    tty.wait_for("I will write CUERVO.md.");
    let sent = server.requests()[5]
        .messages()
        .last()
        .map(|m| m.text())
        .unwrap_or_default();
    assert!(sent.contains("write a CUERVO.md"), "{sent}");
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowing_for_the_project_writes_the_rule_and_stops_asking() {
    let sandbox = Sandbox::new();
    sandbox.write("todo.txt", "one\n");
    let edit = |from: &str, to: &str| {
        Turn::tool_call(
            "edit",
            json!({"path": "todo.txt", "old_string": from, "new_string": to}),
        )
    };
    let server = mock(Script::new(vec![
        edit("one", "two"),
        Turn::text("First edit done."),
        edit("two", "three"),
        Turn::text("Second edit done."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &[]);
    wait_idle(&tty);
    tty.line("change it");
    tty.wait_for("Allow edit?");
    tty.send("p");
    tty.wait_for("First edit done.");
    let config = sandbox.read(".cuervo/config.yml");
    assert!(config.contains("edit(todo.txt)"), "{config}");
    wait_idle(&tty);
    tty.line("again");
    let screen = tty.wait_for("Second edit done.");
    assert_eq!(sandbox.read("todo.txt"), "three\n");
    assert_eq!(
        screen.matches("Allow edit?").count(),
        0,
        "not asked twice: {screen}"
    );
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_says_what_to_do_and_keeps_the_message() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.path("shot.png"), [0x89, b'P', b'N', b'G']).expect("png");
    let server = mock(Script::new(vec![
        Turn::status(401),
        Turn::text("Now it works."),
    ]))
    .await;
    let mut tty = spawn(&sandbox, &anthropic(&server), &["--image", "shot.png"]);
    wait_idle(&tty);
    tty.line("what is in the picture?");
    let screen = tty.wait_for("your message is kept");
    assert!(screen.contains("✗ "), "{screen}");
    assert!(
        screen.contains("ANTHROPIC_API_KEY"),
        "names the key to fix: {screen}"
    );
    assert!(
        screen.contains("attached 1 image(s) from --image"),
        "{screen}"
    );
    wait_idle(&tty);
    tty.line("try again");
    tty.wait_for("Now it works.");
    let requests = server.requests();
    let sent = requests[1].messages();
    // Anthropic's adapter joins consecutive user messages into one.
    let text: String = sent.iter().map(|m| m.text()).collect::<Vec<_>>().join("\n");
    assert!(
        text.contains("what is in the picture?") && text.contains("try again"),
        "the failed prompt is still in the conversation: {text:?}"
    );
    assert!(
        sent[0]
            .content
            .iter()
            .any(|b| matches!(b, cuervo_domain::ContentBlock::Image { .. })),
        "the image went with the first prompt"
    );
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_folds_and_long_tool_output_expands_on_ctrl_o() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![
        Turn::steps(vec![
            Step::thinking("The user wants numbers. I will run seq to print them."),
            Step::tool_call("bash", json!({"command": "seq 101 112"})),
        ]),
        Turn::text("Printed twelve numbers."),
    ]))
    .await;
    let mut tty = spawn(
        &sandbox,
        &anthropic(&server),
        &["--permission-mode", "full-auto"],
    );
    wait_idle(&tty);
    tty.line("count please");
    tty.wait_for("Printed twelve numbers.");
    let screen = wait_idle(&tty);
    assert!(
        screen.contains("✻ thought for"),
        "thinking is folded: {screen}"
    );
    assert!(!screen.contains("I will run seq"), "{screen}");
    assert!(screen.contains("12 lines of output"), "{screen}");
    assert!(
        screen.contains("    104") && !screen.contains("    105"),
        "{screen}"
    );
    assert!(
        screen.contains("8 more lines (ctrl+o shows all)"),
        "{screen}"
    );
    tty.send("\u{f}");
    tty.wait_for("    112");
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_gauge_uses_the_window_ollama_reports() {
    let sandbox = Sandbox::new();
    let server = mock(Script::new(vec![Turn::text("Hi.").with_usage(4_086, 10)])).await;
    // The endpoint is the user's choice: a project's would need trust.
    sandbox.home.write_config(&format!(
        "providers:\n  ollama:\n    base_url: {}\n    model: mock-model\n",
        server.ollama_base_url()
    ));
    let mut tty = spawn(&sandbox, &[], &["--provider", "ollama"]);
    wait_idle(&tty);
    tty.line("hello");
    tty.wait_for("Hi.");
    // 4,096 of the 8,192 tokens /api/show reports (the static table knows only 2,048).
    tty.wait("the context gauge", |s| {
        s.contains("mock-model · ask · ctx 50%")
    });
    tty.send("\u{4}");
    assert_eq!(tty.exit_code(), 0);
}
