//! `write`: create a file or replace its whole content, atomically.

use cuervo_domain::{
    BoxFuture, Effect, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fsutil::{atomic_write, unified_diff};
use crate::input;
use crate::path::{ResolvedPath, resolve};

const NAME: &str = "write";

/// Writes a whole file. The change is reported as a unified diff (the preview people
/// approve and the `FileModified` effect), and the write is atomic so an interrupted
/// run never leaves a truncated file behind.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    path: String,
    content: String,
}

/// What a write would do, computed by both `validate` (for the preview) and `execute`.
struct Plan {
    input: Input,
    resolved: ResolvedPath,
    existed: bool,
    diff: String,
}

fn plan(input: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    input::non_empty(NAME, "path", &input.path)?;
    let resolved = resolve(&ctx.root, &input.path)?;
    let shown = &resolved.display;
    let old = match std::fs::read(&resolved.absolute) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            return Err(ToolError::Failed(format!(
                "{shown} is a directory; give the path of a file inside it"
            )));
        }
        Err(e) => return Err(ToolError::Failed(format!("cannot read {shown}: {e}"))),
    };
    let diff = unified_diff(shown, old.as_deref().unwrap_or(""), &input.content);
    Ok(Plan {
        existed: old.is_some(),
        input,
        resolved,
        diff,
    })
}

impl Tool for WriteTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Writes a file with exactly the given content, creating it (and any missing parent \
         directories) or replacing everything in it. `path` is relative to the project root. \
         Prefer `edit` for changing part of an existing file: it is safer and shows a smaller \
         diff. Read an existing file before overwriting it. The write is atomic: the file is \
         either fully updated or left as it was."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadWrite
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to write, relative to the project root or absolute."},
                "content": {"type": "string", "description": "The complete new content of the file."}
            },
            "required": ["path", "content"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let plan = plan(input, ctx)?;
        let verb = if plan.existed { "write" } else { "create" };
        Ok(ToolAction {
            summary: format!("{verb} {}", plan.resolved.display),
            target: Some(plan.resolved.display),
            outside_root: plan.resolved.outside_root,
            protected: crate::path::protected(&ctx.root, &plan.resolved.absolute),
            preview: Some(plan.diff),
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let Plan {
                input,
                resolved,
                existed,
                diff,
            } = plan(&input, ctx)?;
            let path = resolved.absolute.clone();
            let bytes = input.content.into_bytes();
            let len = bytes.len();
            tokio::task::spawn_blocking(move || atomic_write(&path, &bytes))
                .await
                .map_err(|e| ToolError::Failed(format!("the write task failed: {e}")))??;
            let shown = resolved.display;
            let what = if !existed {
                "Created"
            } else if diff.is_empty() {
                "Unchanged (same content)"
            } else {
                "Updated"
            };
            let mut out = ToolOutput::text(format!("{what} {shown} ({len} bytes)"));
            out.effects.push(Effect::FileModified { path: shown, diff });
            Ok(out)
        })
    }
}
