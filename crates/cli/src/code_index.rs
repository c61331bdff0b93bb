//! The codebase index as the composition root wires it: where a project's index lives
//! (the user's data directory, keyed by the project root — never inside the repository),
//! which embedder fills it (the local all-MiniLM model by default, offline and keyless;
//! a configured provider's `embed` when the user asks), and [`ProjectIndex`], the
//! [`CodeSearch`] adapter the agent's `codebase_search` tool and `cuervo search` use.
//!
//! The `index` config section is read from the user's file; from a project's
//! `.cuervo/config.yml` an embedder other than a local model waits for trust (it would
//! send the repository's code to a provider).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use cuervo_domain::{
    CodeHit, CodeQuery, CodeSearch, CodeSearchError, CodeSearchResults, ModelProvider,
};
use cuervo_index::{
    EmbedError, Embedder, Index, IndexError, IndexOptions, SearchQuery, UpdateOptions, UpdateStats,
    VectorBackend,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::setup::Env;

/// The `index` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// What embeds the code: `local` (the first embedding model of `cuervo models list`,
    /// offline), `local/NAME` (that one), or the name of a configured provider whose
    /// embeddings API is used (its `embedding_model`; your code is sent to it).
    pub embedder: String,
    /// Where vectors are kept: `flat` (exact int8 scan, the default) or `lancedb` (in
    /// builds with the `lancedb` feature).
    pub backend: String,
    /// Reciprocal Rank Fusion's constant: larger flattens the difference between ranks.
    pub rrf_k: f64,
    /// Before a search, files changed since indexing are re-indexed when there are at
    /// most this many; with more, they are left out of results (run `cuervo index`).
    pub refresh_max_files: usize,
    /// Locations of code the index finds related to each prompt, put in that turn's
    /// context when the project is indexed (a line each); 0 leaves them out.
    pub context_results: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            embedder: "local".to_owned(),
            backend: "flat".to_owned(),
            rrf_k: 60.0,
            refresh_max_files: 200,
            context_results: 5,
        }
    }
}

impl IndexConfig {
    /// What is wrong with these settings, for `Config::validate`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if VectorBackend::from_name(&self.backend).is_none() {
            out.push(format!(
                "index.backend: `{}` is not a backend of this build (it has: {})",
                self.backend,
                VectorBackend::available().join(", ")
            ));
        }
        if !(self.rrf_k.is_finite() && self.rrf_k > 0.0) {
            out.push(format!("index.rrf_k: {} must be above 0", self.rrf_k));
        }
        if self.embedder.trim().is_empty() {
            out.push("index.embedder: empty; use `local` or a provider's name".to_owned());
        }
        out
    }

    fn options(&self) -> IndexOptions {
        IndexOptions {
            backend: VectorBackend::from_name(&self.backend).unwrap_or_default(),
            ..IndexOptions::default()
        }
    }
}

/// Where the indexes of the project at `root` live: `$XDG_DATA_HOME/cuervo/index/NAME-HASH`
/// (one directory per embedding model and chunker inside).
pub fn project_base(root: &Path, env: &Env) -> Result<PathBuf> {
    let data = cuervo_store::db::data_dir(env)
        .context("neither XDG_DATA_HOME nor HOME is set, so there is nowhere to keep the index")?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let hash = cuervo_index::hash_bytes(root.to_string_lossy().as_bytes());
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_owned())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect();
    Ok(data.join("index").join(format!("{name}-{}", &hash[..16])))
}

/// Whether the project has been indexed (cheap: no model is loaded). The agent gets
/// `codebase_search` only then.
pub fn exists(root: &Path, env: &Env) -> bool {
    let Ok(base) = project_base(root, env) else {
        return false;
    };
    std::fs::read_dir(base).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().join("index.db").is_file())
    })
}

/// The embedder `config.index.embedder` names, loaded (blocking: a local model is read
/// from disk; a provider's dimension is asked with one short request).
pub fn embedder(config: &Config, env: &Env) -> Result<Arc<dyn Embedder>> {
    let name = config.index.embedder.trim();
    if name == "local" || name.starts_with("local/") {
        return local_embedder(name.strip_prefix("local/"));
    }
    if !config.providers.contains_key(name) {
        bail!(
            "index.embedder: `{name}` is neither `local` nor a configured provider; \
             set it to `local` (offline) or to a provider from `cuervo config show`"
        );
    }
    let provider = crate::setup::provider(config, name, env)?;
    let model = config
        .providers
        .get(name)
        .and_then(|p| p.embedding_model.clone())
        .unwrap_or_else(|| "default".to_owned());
    let id = format!("{name}/{model}");
    let handle = tokio::runtime::Handle::try_current()
        .context("the provider embedder needs the async runtime")?;
    let probe = handle
        .block_on(provider.embed(&["dimension probe".to_owned()]))
        .with_context(|| format!("the embeddings API of `{name}` did not answer"))?;
    let dim = probe
        .first()
        .map(Vec::len)
        .filter(|d| *d > 0)
        .with_context(|| format!("`{name}` returned no embedding"))?;
    Ok(Arc::new(ProviderEmbedder {
        id,
        dim,
        provider,
        handle,
    }))
}

#[cfg(feature = "embeddings")]
fn local_embedder(name: Option<&str>) -> Result<Arc<dyn Embedder>> {
    use cuervo_local::{ModelKind, ModelStore};
    let store = ModelStore::open_default().context("cannot open the local model store")?;
    let entry = match name {
        Some(name) => store
            .get(name)?
            .filter(|e| e.kind == ModelKind::Embedding)
            .with_context(|| {
                format!("index.embedder: `local/{name}` is not an embedding model in `cuervo models list`")
            })?,
        None => store
            .list()?
            .into_iter()
            .find(|e| e.kind == ModelKind::Embedding)
            .context(NO_LOCAL_EMBEDDER)?,
    };
    let model = cuervo_local::LocalEmbedder::load(&entry.path)
        .with_context(|| format!("cannot load the embedding model `{}`", entry.name))?;
    Ok(Arc::new(LocalEmbedder {
        // The weights' hash is part of the id: other weights under the same name get
        // their own index, never mixed vectors.
        id: format!(
            "local/{}@{}",
            entry.name,
            &entry.sha256[..12.min(entry.sha256.len())]
        ),
        model,
    }))
}

#[cfg(not(feature = "embeddings"))]
fn local_embedder(_name: Option<&str>) -> Result<Arc<dyn Embedder>> {
    bail!(
        "this cuervo was built without local embeddings; rebuild it with them \
         (`cargo build --release -p cuervo-cli --features embeddings`, the default) or set \
         index.embedder to a provider with an embeddings API"
    )
}

/// What `cuervo index` says when no local embedding model is installed.
pub const NO_LOCAL_EMBEDDER: &str = "no local embedding model is installed: import one with \
     `cuervo models import DIR` (a sentence-transformers checkpoint such as all-MiniLM-L6-v2; \
     `scripts/fetch-models` fetches it), or set index.embedder to a provider with an embeddings API";

#[cfg(feature = "embeddings")]
struct LocalEmbedder {
    id: String,
    model: cuervo_local::LocalEmbedder,
}

#[cfg(feature = "embeddings")]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.model.dim()
    }

    fn embed(&self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
        self.model
            .embed(texts)
            .map_err(|e| Box::new(e) as EmbedError)
    }
}

/// A provider's embeddings API, called from the index's blocking threads.
struct ProviderEmbedder {
    id: String,
    dim: usize,
    provider: Arc<dyn ModelProvider>,
    handle: tokio::runtime::Handle,
}

impl Embedder for ProviderEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[String]) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
        self.handle
            .block_on(self.provider.embed(texts))
            .map_err(|e| Box::new(e) as EmbedError)
    }
}

/// An index opened with its embedder.
pub struct Opened {
    pub index: Index,
    pub embedder: Arc<dyn Embedder>,
}

/// Opens (creating if need be) the index of the project at `root` (blocking).
pub fn open(config: &Config, root: &Path, env: &Env) -> Result<Opened> {
    open_with(config, root, env, embedder(config, env)?)
}

/// [`open`] with the embedder already loaded (reopening after a rebuild loads no model and
/// asks no provider again).
pub fn open_with(
    config: &Config,
    root: &Path,
    env: &Env,
    embedder: Arc<dyn Embedder>,
) -> Result<Opened> {
    let base = project_base(root, env)?;
    let index = Index::open(root, &base, embedder.as_ref(), config.index.options())?;
    for notice in index.notices() {
        tracing::warn!(?notice, "codebase index");
    }
    Ok(Opened { index, embedder })
}

/// The search as the CLI and the agent ask it.
pub fn search_query(query: &CodeQuery, config: &Config) -> SearchQuery {
    let mut q = SearchQuery::new(query.text.clone()).k(query.k);
    for p in &query.paths {
        q = q.path(p.clone());
    }
    for l in &query.languages {
        q = q.language(l.clone());
    }
    q.rrf_k = config.index.rrf_k;
    q
}

/// Whether a search first re-indexes what changed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Not now (it just did); changed files are still left out of results.
    Skip,
    /// When at most this many files changed.
    UpTo(usize),
    /// Whatever changed.
    All,
}

/// Refreshes what changed (as `refresh` says), then searches: the one path `cuervo
/// search` and the agent's tool share (blocking).
pub fn refresh_and_search(
    opened: &Opened,
    config: &Config,
    query: &CodeQuery,
    refresh: Refresh,
) -> Result<CodeSearchResults, IndexError> {
    let mut note = None;
    let cap = match refresh {
        Refresh::Skip => None,
        Refresh::UpTo(n) => Some(Some(n)),
        Refresh::All => Some(None),
    };
    let updated = match cap {
        None => Ok(UpdateStats::default()),
        Some(max_changed_files) => opened.index.update(
            opened.embedder.as_ref(),
            &UpdateOptions {
                max_changed_files,
                ..UpdateOptions::default()
            },
            &mut |_| {},
        ),
    };
    match updated {
        Ok(_) => {}
        // Another process is indexing, or too much changed to do it now: the search
        // still never returns stale lines (it leaves changed files out and says so).
        Err(IndexError::Locked { .. }) => {
            note = Some("another process is updating the index".to_owned());
        }
        Err(IndexError::TooManyChanges { files }) => {
            note = Some(format!(
                "{files} files changed since the last `cuervo index` are not searched; run it to include them"
            ));
        }
        Err(e) => return Err(e),
    }
    let results = opened
        .index
        .search(opened.embedder.as_ref(), &search_query(query, config))?;
    if !results.stale_files.is_empty() && note.is_none() {
        note = Some(format!(
            "{} changed files were left out; run `cuervo index`",
            results.stale_files.len()
        ));
    }
    Ok(CodeSearchResults {
        hits: results
            .hits
            .into_iter()
            .map(|h| CodeHit {
                path: h.path,
                start_line: h.start_line,
                end_line: h.end_line,
                chunk_type: h.chunk_type,
                chunk_name: h.chunk_name,
                score: h.score,
                snippet: h.snippet,
            })
            .collect(),
        note,
    })
}

/// The project's index behind the [`CodeSearch`] port, opened on first use (loading the
/// embedding model costs start-up time a run that never searches should not pay).
pub struct ProjectIndex {
    inner: Arc<Lazy>,
}

struct Lazy {
    config: Config,
    root: PathBuf,
    env: Arc<Env>,
    opened: Mutex<Option<Arc<Opened>>>,
    /// When the index was last brought up to date before a search.
    refreshed: Mutex<Option<Instant>>,
}

/// A search this soon after the last refresh does not walk the project again (a turn's
/// context search and the model's first `codebase_search` come within moments).
const REFRESH_EVERY: Duration = Duration::from_secs(2);

impl ProjectIndex {
    pub fn new(config: Config, root: &Path, env: Arc<Env>) -> Self {
        Self {
            inner: Arc::new(Lazy {
                config,
                root: root.to_path_buf(),
                env,
                opened: Mutex::new(None),
                refreshed: Mutex::new(None),
            }),
        }
    }
}

impl Lazy {
    fn opened(&self) -> Result<Arc<Opened>> {
        let mut slot = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(opened) = slot.as_ref() {
            return Ok(opened.clone());
        }
        let opened = Arc::new(open(&self.config, &self.root, &*self.env)?);
        *slot = Some(opened.clone());
        Ok(opened)
    }

    fn search(&self, query: &CodeQuery) -> Result<CodeSearchResults> {
        let opened = self.opened()?;
        let refresh = {
            let mut last = self
                .refreshed
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                Refresh::Skip
            } else {
                *last = Some(Instant::now());
                Refresh::UpTo(self.config.index.refresh_max_files)
            }
        };
        Ok(refresh_and_search(&opened, &self.config, query, refresh)?)
    }
}

impl CodeSearch for ProjectIndex {
    fn search(
        &self,
        query: CodeQuery,
    ) -> cuervo_domain::BoxFuture<'_, Result<CodeSearchResults, CodeSearchError>> {
        let inner = self.inner.clone();
        Box::pin(async move {
            // The index is synchronous (SQLite, the model, the scan): off the async
            // worker. Dropping the future (a cancelled turn) lets the search finish
            // unobserved; it only reads, and a refresh commits whole batches.
            tokio::task::spawn_blocking(move || inner.search(&query))
                .await
                .map_err(|e| CodeSearchError(format!("the code search stopped: {e}")))?
                .map_err(|e| CodeSearchError(format!("{e:#}")))
        })
    }
}
