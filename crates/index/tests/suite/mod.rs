//! Shared fixtures: a small project and an index opener with the hashing embedder.

mod consistency;
mod interrupt;
mod search;

use std::path::{Path, PathBuf};

use cuervo_index::{HashEmbedder, Index, IndexOptions, UpdateOptions};

pub const DIM: usize = 64;

pub fn embedder() -> HashEmbedder {
    HashEmbedder::new(DIM)
}

/// A project with Rust, Python, Markdown and TOML files (the last two chunked by lines).
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/config.rs",
        concat!(
            "/// Reads the settings file at `path` and parses it, failing with a message that\n",
            "/// names the file when it cannot be read.\n",
            "pub fn parse_config(path: &str) -> Result<Config, String> {\n",
            "    let text = std::fs::read_to_string(path)\n",
            "        .map_err(|e| format!(\"cannot read the settings file {path}: {e}\"))?;\n",
            "    let config = Config::from_toml(&text);\n",
            "    if config.name.is_empty() {\n",
            "        return Err(format!(\"the settings file {path} has no name\"));\n",
            "    }\n",
            "    Ok(config)\n",
            "}\n",
            "\n",
            "/// The settings: a name, a verbosity level and the directories to search.\n",
            "pub struct Config {\n",
            "    pub name: String,\n",
            "    pub verbosity: u8,\n",
            "    pub search_dirs: Vec<String>,\n",
            "    pub follow_links: bool,\n",
            "    pub max_depth: Option<usize>,\n",
            "    pub exclude_patterns: Vec<String>,\n",
            "}\n",
            "\n",
            "impl Config {\n",
            "    /// Parses the first line as the name and counts `verbose` lines as the level.\n",
            "    pub fn from_toml(text: &str) -> Self {\n",
            "        let name = text.lines().next().unwrap_or_default().to_owned();\n",
            "        let verbosity = text.lines().filter(|l| l.trim() == \"verbose\").count() as u8;\n",
            "        let search_dirs = text.lines().filter_map(|l| l.strip_prefix(\"dir=\")).map(str::to_owned).collect();\n",
            "        Config { name, verbosity, search_dirs, follow_links: false, max_depth: None, exclude_patterns: Vec::new() }\n",
            "    }\n",
            "}\n",
        ),
    );
    write(
        root,
        "src/render.rs",
        "pub fn draw_progress_bar(done: usize, total: usize) -> String {\n    let width = 40;\n    let filled = done * width / total.max(1);\n    format!(\"[{}{}]\", \"#\".repeat(filled), \" \".repeat(width - filled))\n}\n",
    );
    write(
        root,
        "tools/fetch.py",
        "import urllib.request\n\n\ndef download_archive(url, target):\n    \"\"\"Fetch an archive over HTTP and save it.\"\"\"\n    with urllib.request.urlopen(url) as r:\n        open(target, 'wb').write(r.read())\n\n\nclass RetryPolicy:\n    def next_delay(self, attempt):\n        return min(60, 2 ** attempt)\n",
    );
    write(
        root,
        "README.md",
        "# Demo\n\nThis project parses a configuration file and draws a progress bar.\n\n## Usage\n\nRun the binary with the path of the settings file.\n",
    );
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    write(root, "target/ignored.rs", "fn ignored_by_gitignore() {}\n");
    write(root, ".gitignore", "target/\n");
    dir
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The backend the suite runs on: LanceDB when the crate is built with it
/// (`cargo test -p cuervo-index --features lancedb`), else the default — one suite, both
/// backends.
pub fn options() -> IndexOptions {
    IndexOptions {
        #[cfg(feature = "lancedb")]
        backend: cuervo_index::VectorBackend::LanceDb,
        ..IndexOptions::default()
    }
}

pub fn open(root: &Path, base: &Path) -> Index {
    Index::open(root, base, &embedder(), options()).unwrap()
}

pub fn update(index: &Index) -> cuervo_index::UpdateStats {
    index
        .update(&embedder(), &UpdateOptions::default(), &mut |_| {})
        .unwrap()
}

/// The chunk set, ids left out (they differ between indexes of equal content).
pub fn chunk_set(index: &Index) -> Vec<(String, String, String, usize, usize, String)> {
    index
        .chunk_rows()
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.file_path,
                r.chunk_type,
                r.chunk_name,
                r.start_line,
                r.end_line,
                r.content_hash,
            )
        })
        .collect()
}

/// A fresh full index of `root` in its own base directory.
pub fn fresh_chunk_set(root: &Path) -> Vec<(String, String, String, usize, usize, String)> {
    let base = tempfile::tempdir().unwrap();
    let index = open(root, base.path());
    update(&index);
    chunk_set(&index)
}

pub fn example(name: &str) -> PathBuf {
    // tests/…/deps/all-HASH → …/examples/NAME (cargo test builds the examples).
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}
