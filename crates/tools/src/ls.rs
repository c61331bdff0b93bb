//! `ls`: list one directory.

use cuervo_domain::{
    BoxFuture, PermissionLevel, Tool, ToolAction, ToolContext, ToolError, ToolOutput,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::input;
use crate::output::cap_head;
use crate::path::{ResolvedPath, display_name, resolve};
use crate::walk;

const NAME: &str = "ls";
/// Entries listed at most; a bigger directory is better explored with glob.
pub const MAX_LS_ENTRIES: usize = 1000;

/// Lists a directory's entries, directories marked with a trailing `/`, skipping what
/// the project's ignore files hide, so the model sees the project as a developer does.
#[derive(Debug, Clone, Copy, Default)]
pub struct LsTool;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    path: Option<String>,
}

fn plan(input: &Value, ctx: &ToolContext) -> Result<ResolvedPath, ToolError> {
    let input: Input = input::parse(NAME, input)?;
    resolve(&ctx.root, input.path.as_deref().unwrap_or("."))
}

/// The listing of `dir`: sorted names (directories with `/`) and how many entries the
/// ignore rules hid.
fn list(dir: &std::path::Path) -> (Vec<String>, usize) {
    let mut names: Vec<String> = walk::builder(dir)
        .max_depth(Some(1))
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.depth() == 1)
        .map(|e| {
            // A name that is not UTF-8 in the form read and ls accept back.
            let name = display_name(e.file_name());
            // A symlink to a directory is listed as a directory: it can be entered.
            let is_dir = e.file_type().is_some_and(|t| t.is_dir())
                || (e.path_is_symlink() && e.path().is_dir());
            if is_dir { format!("{name}/") } else { name }
        })
        .collect();
    names.sort();
    let all = std::fs::read_dir(dir).map(Iterator::count).unwrap_or(0);
    (names.clone(), all.saturating_sub(names.len()))
}

impl Tool for LsTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Lists the entries of one directory (not recursive), sorted by name, directories \
         marked with a trailing `/`. `path` defaults to the project root. Hidden entries and \
         those ignored by .gitignore, .ignore or .cuervoignore are left out (the output says \
         how many). Use glob to find files by pattern across directories."
    }

    fn permission(&self) -> PermissionLevel {
        PermissionLevel::ReadOnly
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Directory to list. Default: the project root."}
            },
            "additionalProperties": false
        })
    }

    fn validate(&self, input: &Value, ctx: &ToolContext) -> Result<ToolAction, ToolError> {
        let dir = plan(input, ctx)?;
        Ok(ToolAction {
            summary: format!("ls {}", dir.display),
            target: Some(dir.display),
            outside_root: dir.outside_root,
            preview: None,
            ..ToolAction::default()
        })
    }

    fn execute<'a>(
        &'a self,
        input: Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let dir = plan(&input, ctx)?;
            match std::fs::metadata(&dir.absolute) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(ToolError::Failed(format!(
                        "{} is a file, not a directory; use read to see its content",
                        dir.display
                    )));
                }
                Err(_) => {
                    return Err(ToolError::Failed(format!(
                        "the directory {} does not exist; list its parent or use glob to find it",
                        dir.display
                    )));
                }
            }
            let path = dir.absolute.clone();
            let (names, hidden) = tokio::task::spawn_blocking(move || list(&path))
                .await
                .map_err(|e| ToolError::Failed(format!("the ls task failed: {e}")))?;
            let total = names.len();
            let mut lines: Vec<String> = names.into_iter().take(MAX_LS_ENTRIES).collect();
            if lines.is_empty() {
                lines.push(if hidden > 0 {
                    "(no visible entries)".to_owned()
                } else {
                    format!("({} is empty)", dir.display)
                });
            }
            if total > MAX_LS_ENTRIES {
                lines.push(format!(
                    "… {} more entries not shown; use glob to search this directory",
                    total - MAX_LS_ENTRIES
                ));
            }
            if hidden > 0 {
                lines.push(format!("({hidden} hidden or ignored entries not shown)"));
            }
            Ok(ToolOutput::text(cap_head(
                lines.join("\n"),
                ctx.output_limit,
                "Use glob to search this directory.",
            )))
        })
    }
}
