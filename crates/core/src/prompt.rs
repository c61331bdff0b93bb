//! The system prompt: who Cuervo is, how it works, where it is, and the project's own
//! instructions (`CUERVO.md` or `AGENTS.md`). The caller reads files and the clock; this
//! module only assembles text, so the prompt is reproducible in tests.

/// Everything the system prompt depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemPromptInputs {
    /// The project root as the user would write it.
    pub project_root: String,
    /// `linux`, `macos`, ...
    pub platform: String,
    /// Today's date, `YYYY-MM-DD`.
    pub date: String,
    /// Whether the project is a git repository.
    pub is_git_repo: bool,
    /// The project's instruction file: its name and content.
    pub instructions: Option<(String, String)>,
    /// The user's own instructions for every project (`~/.config/cuervo/CUERVO.md`): where
    /// they are and their content. The project's come after and win where they disagree.
    pub user_instructions: Option<(String, String)>,
}

const BASE_PROMPT: &str = "\
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
- Be concise. When you are done, say briefly what you changed and how you checked it.";

/// Builds the system prompt from its inputs.
pub fn build_system_prompt(inputs: &SystemPromptInputs) -> String {
    let mut prompt = String::from(BASE_PROMPT);
    prompt.push_str("\n\nEnvironment:\n");
    prompt.push_str(&format!("- Project root: {}\n", inputs.project_root));
    prompt.push_str(&format!(
        "- Git repository: {}\n",
        if inputs.is_git_repo { "yes" } else { "no" }
    ));
    prompt.push_str(&format!("- Platform: {}\n", inputs.platform));
    prompt.push_str(&format!("- Today's date: {}\n", inputs.date));
    if let Some((name, content)) = &inputs.user_instructions {
        let content = content.trim();
        if !content.is_empty() {
            prompt.push_str(&format!(
                "\nThe user's own instructions, from {name} (for every project):\n\n{content}\n"
            ));
        }
    }
    if let Some((name, content)) = &inputs.instructions {
        let content = content.trim();
        if !content.is_empty() {
            prompt.push_str(&format!(
                "\nProject instructions from {name} (follow them; they override the defaults above; \
                 a CUERVO.md or AGENTS.md deeper in the tree is shown when you work there, and \
                 the nearest one wins):\n\n{content}\n"
            ));
        }
    }
    prompt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_environment_and_instructions() {
        let p = build_system_prompt(&SystemPromptInputs {
            project_root: "/src/app".into(),
            platform: "linux".into(),
            date: "2026-11-24".into(),
            is_git_repo: true,
            instructions: Some(("CUERVO.md".into(), "Always run `make check`.\n".into())),
            user_instructions: Some((
                "~/.config/cuervo/CUERVO.md".into(),
                "Answer in British English.".into(),
            )),
        });
        let user = p
            .find("Answer in British English.")
            .expect("the user's instructions");
        let project = p.find("Always run `make check`.").expect("the project's");
        assert!(user < project, "the project's come after and win");
        assert!(p.contains("Project root: /src/app"));
        assert!(p.contains("Git repository: yes"));
        assert!(p.contains("Project instructions from CUERVO.md"));
        assert!(p.contains("Always run `make check`."));
    }

    #[test]
    fn empty_instructions_are_left_out() {
        let p = build_system_prompt(&SystemPromptInputs {
            instructions: Some(("AGENTS.md".into(), "  \n".into())),
            ..SystemPromptInputs::default()
        });
        assert!(!p.contains("AGENTS.md"));
    }
}
