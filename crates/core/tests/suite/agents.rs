//! Agent definitions: the built-ins' tool sets, agent files in Cuervo's and Claude Code's
//! format, and the catalog's precedence.

use std::path::PathBuf;

use cuervo_core::agents::{
    AgentCatalog, AgentDefinition, AgentFileError, AgentSource, builtin_agents, parse_agent_file,
    tool_name, validate_name,
};
use cuervo_core::resilience::Role;
use pretty_assertions::assert_eq;

fn claude(name: &str) -> AgentSource {
    AgentSource::ClaudeProject(PathBuf::from(format!("/p/.claude/agents/{name}.md")))
}

fn parse(text: &str) -> AgentDefinition {
    parse_agent_file(text, claude("file")).unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> AgentFileError {
    parse_agent_file(text, claude("file")).expect_err("the file is refused")
}

fn tools(agent: &AgentDefinition) -> Option<Vec<&str>> {
    agent
        .tools
        .as_ref()
        .map(|t| t.iter().map(String::as_str).collect())
}

#[test]
fn builtins_have_their_tool_sets_roles_and_no_model() {
    let agents = builtin_agents();
    let summary: Vec<(&str, Role, Option<Vec<&str>>)> = agents
        .iter()
        .map(|a| (a.name.as_str(), a.role, tools(a)))
        .collect();
    let readers = ["read", "glob", "grep", "ls", "codebase_search"];
    assert_eq!(
        summary,
        [
            ("explorer", Role::Explore, Some(readers.to_vec())),
            (
                "planner",
                Role::Plan,
                Some([readers.as_slice(), &["todo"]].concat())
            ),
            ("executor", Role::Edit, None),
            (
                "reviewer",
                Role::Review,
                Some(vec!["read", "glob", "grep", "ls", "bash"])
            ),
        ]
    );
    for agent in &agents {
        assert_eq!(agent.model, None, "{}", agent.name);
        assert_eq!(agent.source, AgentSource::BuiltIn);
        assert!(validate_name(&agent.name).is_ok());
        assert!(!agent.description.is_empty());
        let lines = agent.system_prompt.lines().count();
        assert!((5..=40).contains(&lines), "{}: {lines} lines", agent.name);
    }
    let prompt = |name: &str| {
        agents
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.system_prompt.clone())
            .unwrap_or_default()
    };
    assert!(prompt("explorer").contains("path:line"));
    assert!(prompt("planner").contains("numbered task list"));
    assert!(
        prompt("reviewer")
            .contains("path:line — severity (high/medium/low) — problem — suggested fix")
    );
    assert!(prompt("reviewer").contains("must not modify"));
    assert!(prompt("executor").contains("How you verified it"));
    // The executor may not start sub-agents unless a definition lists the task tool.
    let executor = agents.iter().find(|a| a.name == "executor").unwrap();
    assert!(executor.allows_tool("bash") && !executor.allows_tool("task"));
    assert!(agents[0].is_read_only() && !agents[3].is_read_only());
}

/// Claude Code's documented example, tools as a comma-separated string.
#[test]
fn claude_code_example_with_tools_as_a_string() {
    let agent = parse(
        "---\n\
         name: code-reviewer\n\
         description: Expert code review specialist. Proactively reviews code for quality, security, and maintainability. Use immediately after writing or modifying code.\n\
         tools: Read, Grep, Glob, Bash\n\
         model: inherit\n\
         ---\n\
         \n\
         You are a senior code reviewer ensuring high standards of code quality and security.\n\
         \n\
         When invoked:\n\
         1. Run git diff to see recent changes\n",
    );
    assert_eq!(
        agent,
        AgentDefinition {
            name: "code-reviewer".into(),
            description: "Expert code review specialist. Proactively reviews code for quality, \
                          security, and maintainability. Use immediately after writing or \
                          modifying code."
                .into(),
            tools: Some(vec![
                "read".into(),
                "grep".into(),
                "glob".into(),
                "bash".into()
            ]),
            model: None,
            role: Role::Edit,
            system_prompt: "You are a senior code reviewer ensuring high standards of code \
                            quality and security.\n\nWhen invoked:\n1. Run git diff to see \
                            recent changes"
                .into(),
            source: claude("file"),
            ignored_tools: vec![],
            notes: vec![],
        }
    );
}

#[test]
fn tools_as_a_yaml_list_map_case_insensitively_and_once() {
    let agent = parse(
        "---\nname: x\ndescription: d\ntools:\n  - read\n  - GREP\n  - Edit\n  - MultiEdit\n  - TodoWrite\n  - Task\n  - LS\n---\nbody\n",
    );
    assert_eq!(
        tools(&agent),
        Some(vec!["read", "grep", "edit", "todo", "task", "ls"])
    );
    let flow = parse("---\nname: x\ndescription: d\ntools: [Read, Glob]\n---\nbody\n");
    assert_eq!(tools(&flow), Some(vec!["read", "glob"]));
    assert_eq!(
        flow.role,
        Role::Explore,
        "read-only tools route as an explorer"
    );
}

#[test]
fn missing_tools_means_every_tool_and_an_empty_list_none() {
    let all = parse("---\nname: x\ndescription: d\n---\nbody\n");
    assert_eq!(all.tools, None);
    assert_eq!(all.role, Role::Edit);
    let none = parse("---\nname: x\ndescription: d\ntools: []\n---\nbody\n");
    assert_eq!(none.tools, Some(vec![]));
}

#[test]
fn unknown_tools_are_dropped_and_kept_as_written() {
    let agent = parse(
        "---\nname: x\ndescription: d\ntools: Read, WebFetch, WebSearch, NotebookEdit, mcp__github__create_issue\n---\nbody\n",
    );
    assert_eq!(tools(&agent), Some(vec!["read"]));
    assert_eq!(
        agent.ignored_tools,
        [
            "WebFetch",
            "WebSearch",
            "NotebookEdit",
            "mcp__github__create_issue"
        ]
    );
}

#[test]
fn a_specifier_in_parentheses_keeps_the_tool_with_a_note() {
    let agent = parse(
        "---\nname: x\ndescription: d\ntools: Read, Bash(git diff:*, git log:*), Task(explorer)\n---\nbody\n",
    );
    assert_eq!(tools(&agent), Some(vec!["read", "bash", "task"]));
    assert_eq!(agent.notes.len(), 2, "{:?}", agent.notes);
    assert!(agent.notes[0].contains("`Bash(git diff:*, git log:*)`"));
}

#[test]
fn disallowed_tools_narrow_the_list_or_every_known_tool() {
    let agent = parse("---\nname: x\ndescription: d\ndisallowedTools: Write, Edit\n---\nbody\n");
    assert_eq!(
        tools(&agent),
        Some(vec![
            "read",
            "glob",
            "grep",
            "ls",
            "codebase_search",
            "todo",
            "bash"
        ])
    );
    let listed = parse(
        "---\nname: x\ndescription: d\ntools: Read, Bash\ndisallowedTools: [Bash]\n---\nbody\n",
    );
    assert_eq!(tools(&listed), Some(vec!["read"]));
}

#[test]
fn model_aliases_inherit_and_other_names() {
    let model = |m: &str| {
        parse(&format!(
            "---\nname: x\ndescription: d\nmodel: {m}\n---\nb\n"
        ))
        .model
    };
    assert_eq!(model("sonnet").as_deref(), Some("claude-sonnet-4-5"));
    assert_eq!(model("opus").as_deref(), Some("claude-opus-4-5"));
    assert_eq!(model("Haiku").as_deref(), Some("claude-haiku-4-5"));
    assert_eq!(model("inherit"), None);
    assert_eq!(model("openai/gpt-5").as_deref(), Some("openai/gpt-5"));
}

#[test]
fn a_role_may_be_given_for_routing() {
    let agent = parse("---\nname: x\ndescription: d\nrole: review\ntools: Read, Bash\n---\nb\n");
    assert_eq!(agent.role, Role::Review);
    let e = err("---\nname: x\ndescription: d\nrole: main\n---\nb\n");
    assert_eq!(e.key(), Some("role"));
    assert!(e.to_string().contains("explore, plan, edit, review"), "{e}");
}

#[test]
fn names_are_validated_with_a_suggestion() {
    for good in ["a", "code-reviewer", "x2", "test-runner-3"] {
        assert_eq!(validate_name(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "-a",
        "a-",
        "Code Reviewer",
        "code_reviewer",
        "ünï",
        &"a".repeat(65),
    ] {
        assert!(validate_name(bad).is_err(), "{bad:?}");
    }
    let e = err("---\nname: Code Reviewer\ndescription: d\n---\nb\n");
    assert_eq!(e.key(), Some("name"));
    assert!(e.to_string().contains("e.g. `code-reviewer`"), "{e}");
}

#[test]
fn a_missing_name_is_the_file_name() {
    let agent = parse_agent_file(
        "---\ndescription: d\n---\nb\n",
        AgentSource::Project(PathBuf::from("/p/.cuervo/agents/test-runner.md")),
    )
    .expect("parses");
    assert_eq!(agent.name, "test-runner");
    let e = parse_agent_file("---\ndescription: d\n---\nb\n", AgentSource::BuiltIn)
        .expect_err("no name");
    assert_eq!(e.key(), Some("name"));
}

#[test]
fn errors_name_the_key() {
    let e = err("---\nname: x\n---\nbody\n");
    assert_eq!(e.key(), Some("description"));
    assert!(e.to_string().starts_with("`description` is missing"), "{e}");
    let e = err("---\nname: x\ndescription: d\ntools: {read: true}\n---\nbody\n");
    assert_eq!(e.key(), Some("tools"));
    assert!(
        e.to_string()
            .contains("`tools` must be a list of tool names"),
        "{e}"
    );
    let e = err("---\nname: x\ndescription: [a, b]\n---\nbody\n");
    assert_eq!(e.key(), Some("description"));
}

#[test]
fn files_that_are_not_agents_are_refused() {
    assert_eq!(err("# Just a note\n"), AgentFileError::NoFrontMatter);
    assert_eq!(
        err("---\nname: x\ndescription: d\n"),
        AgentFileError::Unclosed
    );
    assert_eq!(
        err("---\nname: x\ndescription: d\n---\n  \n"),
        AgentFileError::EmptyBody
    );
    assert_eq!(
        err("---\n- a\n- b\n---\nbody\n"),
        AgentFileError::NotMapping
    );
    assert!(matches!(
        err("---\nname: [x\n---\nbody\n"),
        AgentFileError::Yaml(_)
    ));
}

/// Common in the wild: Claude Code's agent generator writes descriptions with `user:` and
/// `assistant:` examples, which strict YAML refuses.
#[test]
fn front_matter_that_is_not_strict_yaml_is_read_line_by_line_with_a_note() {
    let agent = parse(
        "\u{feff}---\r\n\
         name: test-runner\r\n\
         description: Use this agent after code changes. Examples: <example>Context: the user wrote code. user: \"Run the tests\" assistant: \"I'll use the test-runner agent\"</example>\r\n\
         Context: continued on an unindented line\r\n\
         tools: Bash, Read\r\n\
         color: green\r\n\
         ---\r\n\
         Run the tests.\r\n",
    );
    assert_eq!(agent.name, "test-runner");
    assert!(
        agent
            .description
            .starts_with("Use this agent after code changes.")
    );
    assert!(
        agent
            .description
            .ends_with("Context: continued on an unindented line")
    );
    assert_eq!(tools(&agent), Some(vec!["bash", "read"]));
    assert_eq!(agent.system_prompt, "Run the tests.");
    assert_eq!(agent.notes.len(), 1, "{:?}", agent.notes);
    assert!(
        agent.notes[0].contains("not valid YAML (line 3:"),
        "{}",
        agent.notes[0]
    );
}

#[test]
fn block_scalars_and_unsupported_keys() {
    let agent = parse(
        "---\nname: x\ndescription: |\n  Line one.\n  Line two.\npermissionMode: bypassPermissions\nmaxTurns: 3\ncolor: blue\n---\nb\n",
    );
    assert_eq!(agent.description, "Line one.\nLine two.");
    assert_eq!(
        agent.notes,
        [
            "`permissionMode` is not supported: your permission mode and rules apply",
            "`maxTurns` is not supported: ignored",
        ]
    );
}

#[test]
fn tool_names_map_from_claude_code() {
    assert_eq!(tool_name("MultiEdit"), Some("edit"));
    assert_eq!(tool_name("TodoWrite"), Some("todo"));
    assert_eq!(tool_name("Agent(explorer)"), Some("task"));
    assert_eq!(tool_name("codebase_search"), Some("codebase_search"));
    assert_eq!(tool_name("WebFetch"), None);
}

#[test]
fn the_catalog_keeps_the_most_specific_definition_per_name() {
    let mut catalog = AgentCatalog::builtin();
    assert_eq!(
        catalog.names().collect::<Vec<_>>(),
        ["executor", "explorer", "planner", "reviewer"]
    );
    let custom = |source: AgentSource| {
        parse_agent_file("---\nname: explorer\ndescription: mine\n---\nb\n", source)
            .expect("parses")
    };
    let user = custom(AgentSource::User(PathBuf::from("/u/explorer.md")));
    let replaced = catalog
        .insert(user.clone())
        .expect("the built-in is replaced");
    assert_eq!(replaced.source, AgentSource::BuiltIn);
    let claude_user = custom(AgentSource::ClaudeUser(PathBuf::from("/c/explorer.md")));
    let lost = catalog.insert(claude_user.clone());
    assert_eq!(lost, Some(claude_user), "a less specific source loses");
    let project = custom(AgentSource::Project(PathBuf::from("/p/explorer.md")));
    catalog.insert(project.clone());
    assert_eq!(catalog.get("explorer"), Some(&project));
    // Equal precedence: the first one stays.
    let second = custom(AgentSource::Project(PathBuf::from("/p/other.md")));
    assert_eq!(catalog.insert(second.clone()), Some(second));
    assert_eq!(catalog.len(), 4);
}
