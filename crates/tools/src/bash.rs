//! `bash`: run a shell command in the project, bounded in time and output, leaving
//! nothing behind.

use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use cuervo_domain::{
    BoxFuture, Effect, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::input;
use crate::output::HeadTail;
use crate::sandbox;

const NAME: &str = "bash";
/// How long to keep reading output after the command ended and its process group was
/// killed. Only a process that left the group (`setsid`) can hold the pipes open longer.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Runs `bash -c <command>` in the project root. The command gets its own process group
/// so that on timeout, on cancellation (the future is dropped) and when the command
/// ends, the whole group — children and grandchildren included — is killed: a run
/// never leaves stray processes behind.
#[derive(Debug, Clone, Copy, Default)]
pub struct BashTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    command: String,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    description: Option<String>,
}

fn parse(input: &Value, ctx: &ToolContext) -> Result<(Input, Duration), ToolError> {
    let input: Input = input::parse(NAME, input)?;
    input::non_empty(NAME, "command", &input.command)?;
    let timeout = match input.timeout_ms {
        Some(0) => {
            return Err(ToolError::InvalidInput(format!(
                "bash: `timeout_ms` must be positive; leave it out for the default of {} ms",
                ctx.command_timeout.as_millis()
            )));
        }
        Some(ms) => Duration::from_millis(ms).min(ctx.command_timeout),
        None => ctx.command_timeout,
    };
    Ok((input, timeout))
}

/// Kills a process group when dropped, unless disarmed. Dropping the `execute` future
/// drops this guard, which is what makes cancellation kill everything the command
/// started.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn kill(&self) {
        if let Some(pgid) = self.pgid {
            // ESRCH (the group is already gone) is fine.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }

    /// Called once the group is dead and its leader reaped, after which its id could be
    /// reused by an unrelated group.
    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies a pipe into the shared buffer until end of file. Both pipes share one buffer
/// so stdout and stderr keep (roughly) the order they were written in.
async fn pump<R: AsyncRead + Unpin>(reader: Option<R>, buf: &Mutex<HeadTail>) {
    let Some(mut reader) = reader else {
        return;
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut b) = buf.lock() {
                    b.push(&chunk[..n]);
                }
            }
        }
    }
}

/// Bytes of command output kept, leaving room in `output_limit` for the notes added
/// around it (elision, exit code, timeout).
fn output_budget(output_limit: usize) -> usize {
    if output_limit >= 1024 {
        output_limit - 320
    } else {
        output_limit / 2
    }
}

/// How the run ended.
struct Outcome {
    status: Option<ExitStatus>,
    timed_out: bool,
    output: String,
}

async fn run(command: &str, ctx: &ToolContext, timeout: Duration) -> Result<Outcome, ToolError> {
    // Dropped last (declared first), after the guard below has killed the group: the
    // bubblewrap placeholders must outlive every process that could see them.
    let launch = sandbox::prepare(command, &ctx.root, &ctx.sandbox).await?;
    let mut cmd = Command::new(&launch.program);
    cmd.args(&launch.args)
        .current_dir(&ctx.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Only what is not a secret, plus what the user passes through on purpose.
        .env_clear()
        .envs(sandbox::env::scrub(
            std::env::vars_os(),
            &ctx.env_passthrough,
        ))
        // Git must fail rather than wait for a password nobody can type.
        .env("GIT_TERMINAL_PROMPT", "0")
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        ToolError::Failed(format!(
            "could not start {} in {}: {e}",
            if launch.backend.is_some() {
                "the sandboxed shell"
            } else {
                "bash"
            },
            ctx.root.display()
        ))
    })?;
    let pgid = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw);
    let mut guard = GroupGuard { pgid };
    tracing::debug!(command, ?pgid, ?timeout, backend = ?launch.backend, "bash started");

    let buf = Mutex::new(HeadTail::new(output_budget(ctx.output_limit)));
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let pumps = async {
        tokio::join!(pump(stdout, &buf), pump(stderr, &buf));
    };
    tokio::pin!(pumps);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);

    let mut pumps_done = false;
    let waited = loop {
        tokio::select! {
            status = child.wait() => break Some(status),
            () = &mut pumps, if !pumps_done => pumps_done = true,
            () = &mut deadline => break None,
        }
    };
    let timed_out = waited.is_none();
    if timed_out {
        tracing::debug!(command, ?pgid, "bash timed out; killing its process group");
    }
    // On timeout this ends the command; after a normal exit it ends the background jobs
    // it left, which would otherwise outlive the run and hold the pipes open.
    guard.kill();
    let status = match waited {
        Some(status) => status,
        None => child.wait().await,
    }
    .map_err(|e| ToolError::Failed(format!("waiting for the command failed: {e}")))?;
    guard.disarm();
    if !pumps_done {
        let _ = tokio::time::timeout(DRAIN_GRACE, &mut pumps).await;
    }
    let mut output = buf.lock().map(|b| b.render()).unwrap_or_default();
    let status = (!timed_out).then_some(status);
    if let Some(message) = launch.failure(status, &output) {
        return Err(ToolError::Failed(message));
    }
    let failed = timed_out || status.is_none_or(|s| !s.success());
    if let Some(hint) = launch.denial_hint(failed, &output) {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&hint);
    }
    Ok(Outcome {
        status,
        timed_out,
        output,
    })
}

fn describe_outcome(outcome: &Outcome, timeout: Duration) -> (String, Option<i32>, bool) {
    use std::os::unix::process::ExitStatusExt;
    let mut text = outcome.output.trim_end_matches('\n').to_owned();
    if text.is_empty() {
        text.push_str("(no output)");
    }
    let exit_code = outcome.status.and_then(|s| s.code());
    if outcome.timed_out {
        text.push_str(&format!(
            "\n[timed out after {:.1} s: the command and every process it started were killed. \
             Make it faster, give it a larger timeout_ms, or split it into smaller steps]",
            timeout.as_secs_f64()
        ));
    } else if let Some(code) = exit_code {
        if code != 0 {
            text.push_str(&format!("\n[exit code: {code}]"));
        }
    } else if let Some(signal) = outcome.status.and_then(|s| s.signal()) {
        text.push_str(&format!("\n[killed by signal {signal}]"));
    }
    let is_error = outcome.timed_out || exit_code != Some(0);
    (text, exit_code, is_error)
}

/// Where the command's redirections write: whether any lands outside the project root
/// and the first protected path one lands in (`.git/hooks/x`). Targets are resolved like
/// the file tools' paths (symlinks followed), against the directory a `cd` before them
/// moved to. Targets known only at run time are the analysis' business (unanalysable).
fn judge_writes(
    root: &std::path::Path,
    writes: &[cuervo_domain::WriteRedirect],
) -> (bool, Option<String>) {
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut outside = false;
    let mut protected = None;
    for write in writes.iter().filter(|w| !w.dynamic) {
        let base = match &write.dir {
            None => Ok(canonical.clone()),
            Some(dir) => crate::path::resolve(&canonical, dir).map(|r| r.absolute),
        };
        let Ok(absolute) =
            base.and_then(|base| crate::path::resolve(&base, &write.target).map(|r| r.absolute))
        else {
            // A symlink loop or a NUL byte: nobody can say where it lands.
            outside = true;
            continue;
        };
        if !absolute.starts_with(&canonical) {
            outside = true;
        }
        if protected.is_none() {
            protected = crate::path::protected(&canonical, &absolute);
        }
    }
    (outside, protected)
}

impl Tool for BashTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Runs a command with `bash -c` in the project root and returns its combined stdout and \
         stderr, followed by the exit code when it is not zero. Each call starts a fresh shell: \
         `cd` and variables do not carry over, so chain steps with `&&`. There is no input \
         (stdin is empty): never run interactive programs or editors. The command is killed \
         with everything it started when it exceeds `timeout_ms` (default and maximum set by \
         the user, usually 2 minutes); background jobs are killed when the command ends. Long \
         output is cut in the middle. Give `description`, a few words saying what the command \
         does. Prefer the read, glob, grep, ls, edit and write tools over cat, find, grep, ls, \
         sed or echo redirection."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::Destructive
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The command line to run with bash -c."},
                "timeout_ms": {"type": "integer", "minimum": 1, "description": "Time limit in milliseconds; capped at the configured maximum."},
                "description": {"type": "string", "description": "A few words on what the command does, shown to the user."}
            },
            "required": ["command"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let (input, _) = parse(input, ctx)?;
        let first_line = input.command.lines().next().unwrap_or_default();
        let mut summary = format!("bash: {}", crate::output::truncate_str(first_line, 120));
        if summary.len() - 6 < input.command.len() {
            summary.push('…');
        }
        let preview = match &input.description {
            Some(d) if !d.trim().is_empty() => format!("# {}\n{}", d.trim(), input.command),
            _ => input.command.clone(),
        };
        let shell = cuervo_text::shell::analyse(&input.command);
        let (outside_root, protected) = judge_writes(&ctx.root, &shell.writes);
        Ok(ToolAction {
            target: Some(input.command),
            outside_root,
            protected,
            summary,
            preview: Some(preview),
            shell: Some(shell),
        })
    }

    fn requires_confirmation(&self, _input: &Value) -> bool {
        true
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let (input, timeout) = parse(&input, ctx)?;
            let outcome = run(&input.command, ctx, timeout).await?;
            let (content, exit_code, is_error) = describe_outcome(&outcome, timeout);
            Ok(ToolOutput {
                content,
                is_error,
                effects: vec![Effect::CommandExecuted {
                    command: input.command,
                    exit_code,
                    timed_out: outcome.timed_out,
                }],
            })
        })
    }
}
