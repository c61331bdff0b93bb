//! The environment a shell command gets: the user's, minus what looks like a secret.
//!
//! Cuervo itself holds provider keys (`ANTHROPIC_API_KEY`...) and the user's shell often
//! holds more (`GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`); a command the model wrote has no
//! business reading them. A variable is removed when its name, split on `_`, has a word
//! that names a secret: `TOKEN`, `SECRET`, `PASSWORD`, `PASSWD`, `PASSPHRASE`,
//! `CREDENTIAL(S)`, `KEY`/`KEYS` or a compound such as `APIKEY`, `DSN`; or when it is one
//! of a few known secrets whose names do not say so. Everything else (`PATH`, `HOME`,
//! `LANG`, `TERM`, `SSH_AUTH_SOCK`, `TOKENIZERS_PARALLELISM`...) is kept.
//!
//! The user names variables to keep anyway in `tools.bash_env_passthrough`: exact names,
//! or a prefix ending in `*` (`MY_APP_*`).

use std::ffi::{OsStr, OsString};

/// Words that make a variable a secret wherever they appear in its name.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "TOKENS",
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "CREDENTIALS",
    "KEY",
    "KEYS",
    "APIKEY",
    "ACCESSKEY",
    "SECRETKEY",
    "PRIVATEKEY",
    "AUTHTOKEN",
    "DSN",
];

/// Secrets whose names carry none of the words above.
const SECRET_NAMES: &[&str] = &["NPM_CONFIG__AUTH", "PGPASS", "MYSQL_PWD", "SSHPASS"];

/// Whether a variable's name looks like it holds a secret.
pub(crate) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAMES.contains(&upper.as_str())
        || upper
            .split(['_', '-', '.'])
            .any(|word| SECRET_WORDS.contains(&word))
}

/// Whether the user asked to pass `name` through: an exact entry, or an entry ending in
/// `*` that `name` starts with.
fn passes_through(name: &str, passthrough: &[String]) -> bool {
    passthrough.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

/// The variables of `vars` a command may see.
pub fn scrub<I>(vars: I, passthrough: &[String]) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    vars.into_iter()
        .filter(|(name, _)| keep(name, passthrough))
        .collect()
}

fn keep(name: &OsStr, passthrough: &[String]) -> bool {
    let name = name.to_string_lossy();
    !is_secret_name(&name) || passes_through(&name, passthrough)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn provider_keys_and_common_secrets_are_secrets() {
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "OPENAI_API_KEY",
            "OPENAI_ADMIN_KEY",
            "GEMINI_API_KEY",
            "GOOGLE_API_KEY",
            "DEEPSEEK_API_KEY",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "GITLAB_PRIVATE_TOKEN",
            "HF_TOKEN",
            "NPM_TOKEN",
            "NODE_AUTH_TOKEN",
            "CARGO_REGISTRY_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "AZURE_CLIENT_SECRET",
            "DB_PASSWORD",
            "POSTGRES_PASSWORD_FILE",
            "MYSQL_PWD",
            "STRIPE_SECRET_KEY",
            "SENTRY_DSN",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "my_service_apikey",
            "SLACK_BOT_TOKEN",
            "VAULT_TOKEN",
        ] {
            assert!(is_secret_name(name), "{name} must be removed");
        }
    }

    #[test]
    fn ordinary_variables_are_kept() {
        for name in [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TERM",
            "USER",
            "SHELL",
            "TMPDIR",
            "EDITOR",
            "SSH_AUTH_SOCK",
            "TOKENIZERS_PARALLELISM",
            "KEYTIMEOUT",
            "CARGO_HOME",
            "RUSTUP_TOOLCHAIN",
            "GIT_TERMINAL_PROMPT",
            "OPENAI_BASE_URL",
            "XDG_RUNTIME_DIR",
        ] {
            assert!(!is_secret_name(name), "{name} must be kept");
        }
    }

    #[test]
    fn scrub_keeps_ordinary_variables_and_the_passthrough_list() {
        let vars = [
            ("PATH", "/usr/bin"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("OPENAI_API_KEY", "sk-x"),
            ("MY_APP_TOKEN", "t"),
            ("MY_APP_SECRET", "s"),
            ("HOME", "/home/me"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let names = |kept: Vec<(OsString, OsString)>| -> Vec<String> {
            kept.into_iter()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names(scrub(vars.clone(), &[])), ["PATH", "HOME"]);
        assert_eq!(
            names(scrub(
                vars,
                &["GITHUB_TOKEN".to_owned(), "MY_APP_*".to_owned()]
            )),
            [
                "PATH",
                "GITHUB_TOKEN",
                "MY_APP_TOKEN",
                "MY_APP_SECRET",
                "HOME"
            ]
        );
    }

    #[test]
    fn passthrough_names_are_exact_unless_they_end_in_a_star() {
        let list = ["GH_TOKEN".to_owned(), "CI_*".to_owned()];
        assert!(passes_through("GH_TOKEN", &list));
        assert!(!passes_through("GH_TOKEN_2", &list));
        assert!(!passes_through("gh_token", &list));
        assert!(passes_through("CI_JOB_TOKEN", &list));
    }
}
