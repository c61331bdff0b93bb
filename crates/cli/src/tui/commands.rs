//! Slash commands: one registry holding the built-in commands and the user's own prompt
//! templates (`.cuervo/commands/*.md` in the project, `~/.config/cuervo/commands/*.md`).
//! Later features add theirs with [`Registry::register`]; completion, `/help` and
//! dispatch all read the same list.

use std::path::{Path, PathBuf};

/// What a built-in command does; the app carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Help,
    Model,
    Clear,
    Compact,
    Cost,
    Context,
    Resume,
    Permissions,
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Builtin(Builtin),
    /// A prompt sent to the model, `$ARGUMENTS` replaced by what follows the command.
    Prompt {
        template: String,
    },
}

/// Where a command came from, shown in `/help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Project(PathBuf),
    User(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    commands: Vec<SlashCommand>,
}

/// `/init`: what the model is asked to do to write the project's instructions file.
pub const INIT_PROMPT: &str = "Analyse this repository and write a CUERVO.md file at its root: \
the standing instructions a coding agent reads before working here. Look at the build files, \
README, CI configuration, directory layout and a few representative sources first. Include: \
a one-paragraph overview; how to build, run, lint and test (exact commands, including how to \
run a single test); the layout of the code and where things live; code style and conventions \
that are visible in the code; anything surprising a newcomer must know. Keep it under 150 \
lines, specific to this repository, no generic advice. If a CUERVO.md already exists, read \
it and improve it instead of starting over. $ARGUMENTS";

fn builtin(name: &str, description: &str, action: Builtin) -> SlashCommand {
    SlashCommand {
        name: name.into(),
        description: description.into(),
        kind: Kind::Builtin(action),
        origin: Origin::BuiltIn,
    }
}

impl Registry {
    /// The commands every session has.
    pub fn builtin() -> Registry {
        let mut registry = Registry::default();
        for command in [
            builtin("help", "list commands and keys", Builtin::Help),
            builtin(
                "model",
                "switch model (a picker, or /model NAME)",
                Builtin::Model,
            ),
            builtin("clear", "start a fresh conversation", Builtin::Clear),
            builtin(
                "compact",
                "summarise the conversation to free context (/compact FOCUS)",
                Builtin::Compact,
            ),
            builtin("cost", "tokens and cost of this session", Builtin::Cost),
            builtin("context", "what fills the context window", Builtin::Context),
            builtin(
                "resume",
                "continue an earlier session (a picker, or /resume ID)",
                Builtin::Resume,
            ),
            builtin(
                "permissions",
                "show the rules; /permissions MODE switches mode",
                Builtin::Permissions,
            ),
            builtin("exit", "leave Cuervo", Builtin::Exit),
            SlashCommand {
                name: "init".into(),
                description: "write a CUERVO.md with instructions for this repository".into(),
                kind: Kind::Prompt {
                    template: INIT_PROMPT.into(),
                },
                origin: Origin::BuiltIn,
            },
        ] {
            registry.register(command);
        }
        registry
    }

    /// The built-in commands plus custom ones from the user's and the project's command
    /// folders (the project's win on a clash). Returns notes about files that were
    /// skipped, for the user to see.
    pub fn load(project_dir: &Path, user_dir: Option<&Path>) -> (Registry, Vec<String>) {
        let mut registry = Registry::builtin();
        let mut notes = Vec::new();
        let folders = user_dir
            .map(|d| (d.to_owned(), false))
            .into_iter()
            .chain(std::iter::once((project_dir.to_owned(), true)));
        for (folder, is_project) in folders {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect();
            paths.sort();
            for path in paths {
                match custom_command(&path, is_project) {
                    Ok(command) => {
                        if registry
                            .find(&command.name)
                            .is_some_and(|c| c.origin == Origin::BuiltIn)
                        {
                            notes.push(format!(
                                "{}: /{} is a built-in command; rename the file to use it",
                                path.display(),
                                command.name
                            ));
                        } else {
                            registry.register(command);
                        }
                    }
                    Err(why) => notes.push(format!("{}: {why}", path.display())),
                }
            }
        }
        (registry, notes)
    }

    /// Adds a command, replacing one of the same name.
    pub fn register(&mut self, command: SlashCommand) {
        self.commands.retain(|c| c.name != command.name);
        let at = self
            .commands
            .partition_point(|c| c.name.as_str() < command.name.as_str());
        self.commands.insert(at, command);
    }

    pub fn find(&self, name: &str) -> Option<&SlashCommand> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn commands(&self) -> &[SlashCommand] {
        &self.commands
    }

    /// `(name, description)` pairs for completion.
    pub fn completions(&self) -> Vec<(String, String)> {
        self.commands
            .iter()
            .map(|c| (c.name.clone(), c.description.clone()))
            .collect()
    }
}

fn custom_command(path: &Path, is_project: bool) -> Result<SlashCommand, String> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .ok_or("the file name must be the command's name, without spaces")?
        .to_owned();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let (description, body) = split_front_matter(&text)?;
    let description = description.unwrap_or_else(|| {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.trim_start_matches('#').trim().chars().take(60).collect())
            .unwrap_or_default()
    });
    let origin = if is_project {
        Origin::Project(path.to_owned())
    } else {
        Origin::User(path.to_owned())
    };
    Ok(SlashCommand {
        name,
        description,
        kind: Kind::Prompt {
            template: body.trim().to_owned(),
        },
        origin,
    })
}

/// A leading `---` block: YAML with an optional `description`.
fn split_front_matter(text: &str) -> Result<(Option<String>, &str), String> {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Ok((None, text));
    };
    let Some(end) = rest.find("\n---") else {
        return Err("the front matter opened with `---` is never closed".into());
    };
    let yaml = &rest[..end];
    let body = rest[end + 4..].trim_start_matches(['\r', '\n', '-']);
    let value: serde_json::Value = serde_norway::from_str(yaml)
        .map_err(|e| format!("the front matter is not valid YAML: {e}"))?;
    let description = value
        .get("description")
        .and_then(|d| d.as_str())
        .map(str::to_owned);
    Ok((description, body))
}

/// Splits `/name rest` into its name and arguments. Text whose first word has another
/// `/` (a path such as `/usr/bin/env is missing`) is not a command.
pub fn parse(input: &str) -> Option<(&str, &str)> {
    let rest = input.trim_start().strip_prefix('/')?;
    let (name, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    (!name.is_empty() && !name.contains('/')).then_some((name, args))
}

/// Fills a prompt template: `$ARGUMENTS` becomes `args`; a template without the
/// placeholder gets the arguments appended, so nothing the user typed is dropped.
pub fn expand(template: &str, args: &str) -> String {
    if template.contains("$ARGUMENTS") {
        template.replace("$ARGUMENTS", args).trim_end().to_owned()
    } else if args.is_empty() {
        template.to_owned()
    } else {
        format!("{template}\n\n{args}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_but_not_paths() {
        assert_eq!(parse("/model gpt-4.1"), Some(("model", "gpt-4.1")));
        assert_eq!(parse("  /help"), Some(("help", "")));
        assert_eq!(parse("/usr/bin/env is missing"), None);
        assert_eq!(parse("hello /help"), None);
        assert_eq!(parse("/"), None);
    }

    #[test]
    fn expands_arguments() {
        assert_eq!(
            expand("Review $ARGUMENTS now", "src/a.rs"),
            "Review src/a.rs now"
        );
        assert_eq!(
            expand("Explain the code", "main.rs"),
            "Explain the code\n\nmain.rs"
        );
        assert_eq!(expand("Explain the code", ""), "Explain the code");
    }

    #[test]
    fn custom_commands_load_with_descriptions_and_precedence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let user = dir.path().join("user");
        let project = dir.path().join("project");
        std::fs::create_dir_all(&user).expect("mkdir");
        std::fs::create_dir_all(&project).expect("mkdir");
        std::fs::write(
            user.join("review.md"),
            "---\ndescription: review code\n---\nReview $ARGUMENTS carefully.\n",
        )
        .expect("write");
        std::fs::write(
            user.join("fix.md"),
            "# Fix the issue\nFix issue $ARGUMENTS.",
        )
        .expect("write");
        std::fs::write(project.join("review.md"), "Project review of $ARGUMENTS").expect("write");
        std::fs::write(project.join("help.md"), "shadow").expect("write");
        std::fs::write(project.join("bad.md"), "---\ndescription: [\n---\nx").expect("write");
        let (registry, notes) = Registry::load(&project, Some(&user));
        let review = registry.find("review").expect("review");
        assert!(matches!(review.origin, Origin::Project(_)));
        assert_eq!(
            review.kind,
            Kind::Prompt {
                template: "Project review of $ARGUMENTS".into()
            }
        );
        let fix = registry.find("fix").expect("fix");
        assert_eq!(fix.description, "Fix the issue");
        assert_eq!(
            registry.find("help").map(|c| &c.origin),
            Some(&Origin::BuiltIn)
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("built-in")));
        assert!(notes.iter().any(|n| n.contains("not valid YAML")));
        let names: Vec<String> = registry.completions().into_iter().map(|c| c.0).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(names.contains(&"init".to_owned()));
    }
}
