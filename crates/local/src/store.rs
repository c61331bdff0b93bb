//! The model store: local models Cuervo knows by name, under the XDG data directory
//! (`$XDG_DATA_HOME/cuervo/models`, default `~/.local/share/cuervo/models`).
//!
//! `index.json` in the store directory lists the entries (name, kind, path, size,
//! SHA-256, where it came from). It is rewritten whole through a temporary file and a
//! rename, so a crash never leaves half an index. Imported models are symlinked (the
//! default; the user keeps the file where it is) or copied; pulled models live in the
//! store directory itself.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::gguf::GgufMetadata;
use crate::hub::{HubClient, Progress};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Chat,
    Embedding,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Chat => "chat",
            ModelKind::Embedding => "embedding",
        })
    }
}

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelSource {
    Imported {
        from: PathBuf,
    },
    Pulled {
        repo: String,
        file: Option<String>,
        revision: String,
    },
}

/// One model of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub kind: ModelKind,
    /// The GGUF file (chat) or checkpoint directory (embedding) to load.
    pub path: PathBuf,
    /// Bytes on disk (a directory: all its files).
    pub size: u64,
    /// SHA-256 of the file; for a directory, of its manifest (`sha256  relative/path`
    /// lines, sorted), so any changed file changes it.
    pub sha256: String,
    pub source: ModelSource,
    /// Seconds since the Unix epoch.
    pub added_at: u64,
}

/// How `import` brings a model in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// A symbolic link to the original (nothing is copied).
    #[default]
    Symlink,
    /// A copy inside the store.
    Copy,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    #[serde(default)]
    models: Vec<ModelEntry>,
}

/// A model store rooted at a directory.
#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

/// A parsed `REPO[:FILE]` (with an optional `@REVISION` after the repo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSpec {
    pub repo: String,
    pub revision: String,
    pub file: Option<String>,
}

impl std::str::FromStr for PullSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let (repo_rev, file) = match s.split_once(':') {
            Some((r, f)) if !f.is_empty() => (r, Some(f.to_owned())),
            Some(_) => return Err(Error::Store(format!("`{s}`: the file after `:` is empty"))),
            None => (s, None),
        };
        let (repo, revision) = match repo_rev.split_once('@') {
            Some((r, rev)) => (r, rev.to_owned()),
            None => (repo_rev, "main".to_owned()),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty() || p.starts_with('.')) {
            return Err(Error::Store(format!(
                "`{s}` is not a hub repository: expected OWNER/NAME[:FILE], e.g. HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:smollm2-135m-instruct-q8_0.gguf"
            )));
        }
        if file
            .as_deref()
            .is_some_and(|f| f.split('/').any(|c| c == ".." || c.is_empty()))
        {
            return Err(Error::Store(format!(
                "`{s}`: the file name is not a plain path"
            )));
        }
        Ok(Self {
            repo: repo.to_owned(),
            revision,
            file,
        })
    }
}

/// The files a sentence-transformers checkpoint needs (the optional ones may be absent).
const EMBEDDING_FILES: &[(&str, bool)] = &[
    ("config.json", true),
    ("tokenizer.json", true),
    ("model.safetensors", true),
    ("modules.json", false),
    ("1_Pooling/config.json", false),
    ("sentence_bert_config.json", false),
    ("tokenizer_config.json", false),
    ("special_tokens_map.json", false),
];

impl ModelStore {
    /// The store under the XDG data directory (`$XDG_DATA_HOME`, else
    /// `~/.local/share`), created if missing.
    pub fn open_default() -> Result<Self> {
        Self::open(default_dir()?)
    }

    /// The store at `dir`, created if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn read_index(&self) -> Result<Index> {
        let p = self.index_path();
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::Store(format!(
                    "{} is damaged ({e}); move it away and re-import",
                    p.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn write_index(&self, index: &Index) -> Result<()> {
        let p = self.index_path();
        let tmp = self.dir.join(".index.json.tmp");
        let body = serde_json::to_vec_pretty(index).map_err(|e| Error::Store(e.to_string()))?;
        std::fs::write(&tmp, body).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))
    }

    /// All entries, by name.
    pub fn list(&self) -> Result<Vec<ModelEntry>> {
        let mut models = self.read_index()?.models;
        models.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(models)
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Result<Option<ModelEntry>> {
        Ok(self
            .read_index()?
            .models
            .into_iter()
            .find(|m| m.name == name))
    }

    /// Registers the GGUF file or sentence-transformers directory at `path` under `name`
    /// (default: the file or directory name without `.gguf`).
    pub fn import(&self, path: &Path, name: Option<&str>, mode: ImportMode) -> Result<ModelEntry> {
        let source = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
        let kind = detect_kind(&source)?;
        let name = match name {
            Some(n) => n.to_owned(),
            None => default_name(&source),
        };
        validate_name(&name)?;
        if self.get(&name)?.is_some() {
            return Err(Error::Store(format!(
                "a model called `{name}` already exists; remove it first or pick another name"
            )));
        }
        let file_name = source.file_name().unwrap_or_default();
        let target = self.dir.join(&name).join(file_name);
        std::fs::create_dir_all(self.dir.join(&name)).map_err(|e| Error::io(&self.dir, e))?;
        match mode {
            ImportMode::Symlink => symlink(&source, &target)?,
            ImportMode::Copy => copy_all(&source, &target)?,
        }
        let (size, sha256) = fingerprint(&target)?;
        let entry = ModelEntry {
            name,
            kind,
            path: target,
            size,
            sha256,
            source: ModelSource::Imported { from: source },
            added_at: now(),
        };
        self.add(entry.clone())?;
        Ok(entry)
    }

    fn add(&self, entry: ModelEntry) -> Result<()> {
        let mut index = self.read_index()?;
        index.models.retain(|m| m.name != entry.name);
        index.models.push(entry);
        self.write_index(&index)
    }

    /// Forgets `name` and deletes what the store holds for it (a link, a copy, a
    /// download); an imported original stays where it was.
    pub fn remove(&self, name: &str) -> Result<ModelEntry> {
        let mut index = self.read_index()?;
        let pos = index
            .models
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| Error::NotFound(name.to_owned()))?;
        let entry = index.models.remove(pos);
        self.write_index(&index)?;
        let owned = self.dir.join(&entry.name);
        if owned.starts_with(&self.dir) && owned.exists() {
            // `remove_dir_all` removes symlinks themselves, never what they point to.
            std::fs::remove_dir_all(&owned).map_err(|e| Error::io(&owned, e))?;
        }
        Ok(entry)
    }

    /// Downloads `spec` (`OWNER/NAME[@REV][:FILE]`) from the hub into the store and
    /// registers it. Without a file: a GGUF repository gives its Q4_K_M file (else its
    /// first `.gguf`), a sentence-transformers repository its checkpoint files.
    pub async fn pull(
        &self,
        spec: &str,
        hub: &HubClient,
        name: Option<&str>,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<ModelEntry> {
        let spec: PullSpec = spec.parse()?;
        let file = match &spec.file {
            Some(f) => Some(f.clone()),
            None => {
                let files = hub.list_files(&spec.repo).await?;
                pick_gguf(&files).or_else(|| {
                    // No GGUF: an embedding checkpoint, if it has the weights.
                    if files.iter().any(|f| f == "model.safetensors") {
                        None
                    } else {
                        Some(String::new())
                    }
                })
            }
        };
        let name = match name {
            Some(n) => n.to_owned(),
            None => match &file {
                Some(f) if !f.is_empty() => default_name(Path::new(f)),
                _ => spec
                    .repo
                    .rsplit('/')
                    .next()
                    .unwrap_or(&spec.repo)
                    .to_owned(),
            },
        };
        validate_name(&name)?;
        let dir = self.dir.join(&name);
        let (path, kind) = match file.as_deref() {
            Some("") => {
                return Err(Error::Store(format!(
                    "{} has neither a .gguf file nor model.safetensors; name the file as REPO:FILE",
                    spec.repo
                )));
            }
            Some(f) => {
                let dest = dir.join(Path::new(f).file_name().unwrap_or_default());
                hub.download(&spec.repo, &spec.revision, f, &dest, None, progress)
                    .await?;
                let kind = detect_kind(&dest)?;
                (dest, kind)
            }
            None => {
                for (f, required) in EMBEDDING_FILES {
                    let dest = dir.join(f);
                    if *required {
                        hub.download(&spec.repo, &spec.revision, f, &dest, None, progress)
                            .await?;
                    } else {
                        hub.download_optional(&spec.repo, &spec.revision, f, &dest, progress)
                            .await?;
                    }
                }
                (dir.clone(), ModelKind::Embedding)
            }
        };
        let (size, sha256) = fingerprint(&path)?;
        let entry = ModelEntry {
            name,
            kind,
            path,
            size,
            sha256,
            source: ModelSource::Pulled {
                repo: spec.repo,
                file: spec.file.or(file),
                revision: spec.revision,
            },
            added_at: now(),
        };
        self.add(entry.clone())?;
        Ok(entry)
    }
}

/// `$XDG_DATA_HOME/cuervo/models`, else `~/.local/share/cuervo/models`.
pub fn default_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::Store("neither XDG_DATA_HOME nor HOME is set".into()))?;
            PathBuf::from(home).join(".local").join("share")
        }
    };
    Ok(base.join("cuervo").join("models"))
}

fn pick_gguf(files: &[String]) -> Option<String> {
    let ggufs: Vec<&String> = files.iter().filter(|f| f.ends_with(".gguf")).collect();
    ggufs
        .iter()
        .find(|f| f.to_ascii_lowercase().contains("q4_k_m"))
        .or_else(|| ggufs.first())
        .map(|f| (*f).clone())
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Store(format!(
            "`{name}` is not a valid model name: use letters, digits, `-`, `_` and `.`"
        )))
    }
}

fn default_name(path: &Path) -> String {
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".gguf").to_owned())
        .unwrap_or_default();
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Chat for a GGUF file of a decoder; embedding for a GGUF encoder or a directory with
/// `config.json` and `model.safetensors`; a directory with one `.gguf` is that file.
pub fn detect_kind(path: &Path) -> Result<ModelKind> {
    let not_model = |reason: &str| {
        Error::Store(format!(
            "{} is not a model this store can use: {reason}",
            path.display()
        ))
    };
    if path.is_dir() {
        if path.join("config.json").is_file() && path.join("model.safetensors").is_file() {
            return Ok(ModelKind::Embedding);
        }
        return Err(not_model(
            "a directory must be a sentence-transformers checkpoint (config.json, model.safetensors, tokenizer.json)",
        ));
    }
    let meta = GgufMetadata::read(path).map_err(|_| not_model("expected a .gguf file"))?;
    Ok(if meta.is_embedding_model() {
        ModelKind::Embedding
    } else {
        ModelKind::Chat
    })
}

#[cfg(unix)]
fn symlink(src: &Path, dst: &Path) -> Result<()> {
    std::os::unix::fs::symlink(src, dst).map_err(|e| Error::io(dst, e))
}

#[cfg(not(unix))]
fn symlink(src: &Path, dst: &Path) -> Result<()> {
    copy_all(src, dst)
}

fn copy_all(src: &Path, dst: &Path) -> Result<()> {
    if src.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
        for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
            let entry = entry.map_err(|e| Error::io(src, e))?;
            copy_all(&entry.path(), &dst.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(src, dst)
            .map(|_| ())
            .map_err(|e| Error::io(dst, e))
    }
}

/// The size and SHA-256 of a file, or of a directory's manifest.
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Ok((meta.len(), sha256_of(path)?));
    }
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    let mut manifest = String::new();
    let mut size = 0;
    for rel in &files {
        let p = path.join(rel);
        size += std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?.len();
        manifest.push_str(&format!("{}  {}\n", sha256_of(&p)?, rel));
    }
    Ok((size, hex(&Sha256::digest(manifest.as_bytes()))))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            collect_files(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_of(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_specs() {
        let s: PullSpec = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:smollm2.q8_0.gguf"
            .parse()
            .unwrap();
        assert_eq!(
            s,
            PullSpec {
                repo: "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF".into(),
                revision: "main".into(),
                file: Some("smollm2.q8_0.gguf".into())
            }
        );
        let s: PullSpec = "a/b@v1".parse().unwrap();
        assert_eq!((s.revision.as_str(), s.file), ("v1", None));
        for bad in ["nope", "a/b/c", "a/b:", "a/b:../x", "../b"] {
            assert!(bad.parse::<PullSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_gguf_choice() {
        assert_eq!(
            default_name(Path::new("/x/SmolLM2 135M.Q4_1.gguf")),
            "SmolLM2-135M.Q4_1"
        );
        assert!(validate_name("../x").is_err());
        assert!(validate_name("ok-1.2_b").is_ok());
        let files = ["README.md", "m-Q8_0.gguf", "m-Q4_K_M.gguf"].map(String::from);
        assert_eq!(pick_gguf(&files).as_deref(), Some("m-Q4_K_M.gguf"));
        assert_eq!(pick_gguf(&files[..2]).as_deref(), Some("m-Q8_0.gguf"));
    }
}
