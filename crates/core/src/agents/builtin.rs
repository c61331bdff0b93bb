//! The four built-in agents. Their prompts are Markdown files beside this one, so they read
//! (and diff) as prose.

use super::{AgentDefinition, AgentSource};
use crate::resilience::Role;

/// The read-only tools every built-in reader gets. `codebase_search` is listed before it
/// exists: whoever runs the agent drops tools the process does not have.
const READERS: &[&str] = &["read", "glob", "grep", "ls", "codebase_search"];

/// explorer, planner, executor and reviewer. None names a model: each is routed by its
/// role, so `routing.roles.{explore,plan,edit,review}` picks one, else the conversation's
/// model answers.
pub fn builtin_agents() -> Vec<AgentDefinition> {
    let tools = |names: &[&[&str]]| Some(names.concat().into_iter().map(String::from).collect());
    let agent = |name: &str, role, tools, description: &str, prompt: &str| AgentDefinition {
        name: name.into(),
        description: description.into(),
        tools,
        model: None,
        role,
        system_prompt: prompt.trim().into(),
        source: AgentSource::BuiltIn,
        ignored_tools: Vec::new(),
        notes: Vec::new(),
    };
    vec![
        agent(
            "explorer",
            Role::Explore,
            tools(&[READERS]),
            "Answers a question about the codebase by searching and reading it, without \
             changing anything: where something is defined or used, how a feature works, \
             what a change would affect. Returns the answer with path:line evidence. Use it \
             to investigate without filling your own context with files.",
            include_str!("prompts/explorer.md"),
        ),
        agent(
            "planner",
            Role::Plan,
            tools(&[READERS, &["todo"]]),
            "Turns a request into an ordered, numbered task list with the files to touch \
             and how to check each step, after reading the relevant code (read-only). Use \
             it before a change that spans several files or steps.",
            include_str!("prompts/planner.md"),
        ),
        agent(
            "executor",
            Role::Edit,
            None,
            "Carries out one well-defined task with every tool (edits files, runs \
             commands, under the user's permission rules) and reports what changed and how \
             it was verified. Use it for a self-contained piece of work; say exactly what \
             to do and how to check it.",
            include_str!("prompts/executor.md"),
        ),
        agent(
            "reviewer",
            Role::Review,
            tools(&[&["read", "glob", "grep", "ls", "bash"]]),
            "Reviews a change (a diff, a branch or named files) and reports findings as \
             `path:line — severity — problem — suggested fix`; may run tests and git \
             commands to check, never modifies files. Use it after making a change.",
            include_str!("prompts/reviewer.md"),
        ),
    ]
}
