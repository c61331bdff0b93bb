//! `edit`: replace an exact piece of text in a file.

use cuervo_domain::{
    BoxFuture, Effect, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fsutil::{atomic_write, read_text, unified_diff};
use crate::input;
use crate::output::cap_head;
use crate::path::{ResolvedPath, resolve};

const NAME: &str = "edit";

/// Replaces exact text. Requiring `old_string` to be unique (unless `replace_all`) makes
/// the model say precisely which occurrence it means, so an edit never lands in the
/// wrong place; the diff it returns lets the model check the result.
#[derive(Debug, Clone, Copy, Default)]
pub struct EditTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    path: String,
    old_string: String,
    new_string: String,
    #[serde(default)]
    replace_all: bool,
}

struct Plan {
    resolved: ResolvedPath,
    new_content: String,
    replacements: usize,
    diff: String,
}

fn plan(input: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    input::non_empty(NAME, "path", &input.path)?;
    if input.old_string.is_empty() {
        return Err(ToolError::InvalidInput(
            "edit: `old_string` is empty; give the exact text to replace, or use write to create a file"
                .into(),
        ));
    }
    if input.old_string == input.new_string {
        return Err(ToolError::InvalidInput(
            "edit: `old_string` and `new_string` are identical, so the edit would change nothing; give the new text in `new_string`"
                .into(),
        ));
    }
    let resolved = resolve(&ctx.root, &input.path)?;
    let shown = &resolved.display;
    let old_content = read_text(&resolved.absolute, shown)?;
    let (mut old, mut new) = (input.old_string.clone(), input.new_string.clone());
    let mut count = old_content.matches(old.as_str()).count();
    // Files with Windows line ends: the model copies lines as `read` shows them (without
    // `\r`), so try again with the file's own line ends.
    if count == 0 && old.contains('\n') && old_content.contains("\r\n") {
        let crlf = |s: &str| s.replace("\r\n", "\n").replace('\n', "\r\n");
        let (o, n) = (crlf(&old), crlf(&new));
        count = old_content.matches(o.as_str()).count();
        if count > 0 {
            (old, new) = (o, n);
        }
    }
    match count {
        0 => {
            return Err(ToolError::Failed(format!(
                "old_string was not found in {shown}. Read the file first and copy the text exactly, \
                 including whitespace and indentation, without the line-number prefix that read adds"
            )));
        }
        1 => {}
        n if !input.replace_all => {
            return Err(ToolError::Failed(format!(
                "old_string matches {n} places in {shown}; add surrounding lines to old_string so it \
                 matches exactly one place, or set replace_all to true to replace all {n}"
            )));
        }
        _ => {}
    }
    let new_content = if input.replace_all {
        old_content.replace(old.as_str(), &new)
    } else {
        old_content.replacen(old.as_str(), &new, 1)
    };
    let diff = unified_diff(shown, &old_content, &new_content);
    Ok(Plan {
        resolved,
        new_content,
        replacements: count,
        diff,
    })
}

impl Tool for EditTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Replaces exact text in an existing file: `old_string` becomes `new_string`. \
         `old_string` must match the file character for character, whitespace and indentation \
         included (copy it from read's output without the line-number prefix) and must occur \
         exactly once; include a few surrounding lines to make it unique, or set `replace_all` \
         to replace every occurrence (e.g. renaming a variable). Read the file before editing. \
         Returns the unified diff of the change. To create a file or rewrite it entirely, use \
         write."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadWrite
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File to edit, relative to the project root or absolute."},
                "old_string": {"type": "string", "description": "Exact text to replace; must occur exactly once unless replace_all is true."},
                "new_string": {"type": "string", "description": "Text to put in its place (must differ from old_string)."},
                "replace_all": {"type": "boolean", "default": false, "description": "Replace every occurrence of old_string."}
            },
            "required": ["path", "old_string", "new_string"],
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let plan = plan(input, ctx)?;
        Ok(ToolAction {
            summary: format!("edit {}", plan.resolved.display),
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
            // Planned again here: the file may have changed since validation.
            let Plan {
                resolved,
                new_content,
                replacements,
                diff,
            } = plan(&input, ctx)?;
            let path = resolved.absolute.clone();
            tokio::task::spawn_blocking(move || atomic_write(&path, new_content.as_bytes()))
                .await
                .map_err(|e| ToolError::Failed(format!("the write task failed: {e}")))??;
            let shown = resolved.display;
            let plural = if replacements == 1 { "" } else { "s" };
            let content = cap_head(
                format!("Edited {shown} ({replacements} replacement{plural}):\n{diff}"),
                ctx.output_limit,
                "The edit was applied in full; read the file to see the rest.",
            );
            let mut out = ToolOutput::text(content);
            out.effects.push(Effect::FileModified { path: shown, diff });
            Ok(out)
        })
    }
}
