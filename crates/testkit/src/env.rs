//! A throwaway home directory for end-to-end tests, so a run never reads or writes the
//! developer's real configuration, data or caches.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Provider variables that must not leak from the developer's environment into a test run.
const LEAKY_VARS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
];

/// A temporary home: `home/`, `config/`, `data/`, `cache/`, `state/` and `project/` inside
/// one temporary directory, deleted on drop.
#[derive(Debug)]
pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl TestHome {
    /// Creates the directories. Panics when the temporary directory cannot be made.
    pub fn new() -> TestHome {
        TestHome::try_new().expect("cannot create a temporary home directory")
    }

    pub fn try_new() -> std::io::Result<TestHome> {
        let dir = tempfile::Builder::new().prefix("cuervo-home-").tempdir()?;
        for sub in ["home", "config", "data", "cache", "state", "project"] {
            std::fs::create_dir_all(dir.path().join(sub))?;
        }
        Ok(TestHome { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$HOME`
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `$XDG_CONFIG_HOME`
    pub fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// `$XDG_DATA_HOME`
    pub fn data_home(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `$XDG_CACHE_HOME`
    pub fn cache_home(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `$XDG_STATE_HOME`
    pub fn state_home(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// An empty directory to use as the working directory of a run.
    pub fn project_dir(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    /// `$XDG_CONFIG_HOME/cuervo/config.yml`
    pub fn config_path(&self) -> PathBuf {
        self.config_home().join("cuervo").join("config.yml")
    }

    /// HOME and the XDG base directories, pointing inside the temporary directory.
    pub fn envs(&self) -> Vec<(String, String)> {
        let s = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("HOME".into(), s(self.home())),
            ("XDG_CONFIG_HOME".into(), s(self.config_home())),
            ("XDG_DATA_HOME".into(), s(self.data_home())),
            ("XDG_CACHE_HOME".into(), s(self.cache_home())),
            ("XDG_STATE_HOME".into(), s(self.state_home())),
        ]
    }

    /// Writes `$XDG_CONFIG_HOME/cuervo/config.yml` and returns its path. Panics on error.
    pub fn write_config(&self, yaml: &str) -> PathBuf {
        let path = self.config_path();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("cannot create the cuervo config directory");
        }
        std::fs::write(&path, yaml).expect("cannot write the cuervo config file");
        path
    }

    /// Sets [`TestHome::envs`] on `cmd`, and removes the provider variables (API keys, base
    /// URLs) and every `CUERVO_*` variable inherited from the developer's environment.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        for var in LEAKY_VARS {
            cmd.env_remove(var);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CUERVO_") {
                cmd.env_remove(&name);
            }
        }
        cmd.envs(self.envs())
    }
}

impl Default for TestHome {
    fn default() -> Self {
        TestHome::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envs_point_inside_and_config_lands_in_xdg() {
        let home = TestHome::new();
        for (name, value) in home.envs() {
            assert!(Path::new(&value).starts_with(home.path()), "{name}={value}");
            assert!(Path::new(&value).is_dir(), "{name} is not created");
        }
        let path = home.write_config("model: mock\n");
        assert_eq!(path, home.config_home().join("cuervo/config.yml"));
        assert_eq!(
            std::fs::read_to_string(path).expect("config written"),
            "model: mock\n"
        );
    }

    #[test]
    fn apply_sets_home_on_a_command() {
        let home = TestHome::new();
        let mut cmd = Command::new("true");
        home.apply(&mut cmd);
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.iter().any(|(k, v)| *k == "HOME" && v.is_some()));
        assert!(
            envs.iter()
                .any(|(k, v)| *k == "ANTHROPIC_API_KEY" && v.is_none())
        );
    }
}
