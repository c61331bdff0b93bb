//! Downloads from the Hugging Face hub: `{endpoint}/{repo}/resolve/{revision}/{file}`,
//! with progress reports, resume of an interrupted download (HTTP `Range` on the
//! `.part` file) and a SHA-256 check.
//!
//! The expected SHA-256 comes from the caller or, for files the hub stores in LFS (all
//! weights), from the hub's `X-Linked-Etag`/`ETag` header, which is the file's SHA-256.
//! A mismatch deletes the partial file, so the next attempt starts clean.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// The public hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A download's progress, reported as bytes arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The file being downloaded (its path in the repository).
    pub file: String,
    /// Bytes on disk so far, counting a resumed part.
    pub downloaded: u64,
    /// The full size, when the server said.
    pub total: Option<u64>,
    /// Bytes that were already there from an earlier attempt.
    pub resumed_from: u64,
}

/// A client of the hub (or of anything serving the same URLs, such as a mirror or a test
/// server).
#[derive(Debug, Clone)]
pub struct HubClient {
    endpoint: String,
    token: Option<String>,
    http: reqwest::Client,
    /// For the metadata request: the hub answers `resolve` with a redirect whose headers
    /// carry the LFS hash, so that one must not be followed.
    http_no_redirect: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct RepoInfo {
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Debug, Deserialize)]
struct Sibling {
    rfilename: String,
}

impl HubClient {
    /// A client of `endpoint` (no trailing slash), authenticated with `token` if given.
    pub fn new(endpoint: impl Into<String>, token: Option<String>) -> Self {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(concat!("cuervo/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(std::time::Duration::from_secs(15))
        };
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_owned(),
            token,
            // No idle connections kept: downloads are few and large, and a connection
            // the server dropped mid-file must never be picked up again for the resume.
            http: builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap_or_default(),
            http_no_redirect: builder()
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// The client the `huggingface_hub` tools would use: `HF_ENDPOINT` (default the
    /// public hub) and `HF_TOKEN`.
    pub fn from_env() -> Self {
        let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.into());
        let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty());
        Self::new(endpoint, token)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The URL of `file` in `repo` at `revision`.
    pub fn file_url(&self, repo: &str, revision: &str, file: &str) -> String {
        format!("{}/{repo}/resolve/{revision}/{file}", self.endpoint)
    }

    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        let req = self.http.get(url);
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// The SHA-256 the hub publishes for `url` (LFS files only), from a HEAD request
    /// that does not follow the redirect to the CDN.
    async fn published_sha256(&self, url: &str) -> Option<String> {
        let mut req = self.http_no_redirect.head(url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.ok()?;
        lfs_sha256(resp.headers())
    }

    /// The files of `repo` (the hub's model API).
    pub async fn list_files(&self, repo: &str) -> Result<Vec<String>> {
        let url = format!("{}/api/models/{repo}", self.endpoint);
        let fail = |reason: String| Error::Download {
            url: url.clone(),
            reason,
        };
        let resp = self.get(&url).send().await.map_err(|e| fail(chain(&e)))?;
        if !resp.status().is_success() {
            return Err(fail(status_reason(resp.status())));
        }
        let info: RepoInfo = resp.json().await.map_err(|e| fail(e.to_string()))?;
        Ok(info.siblings.into_iter().map(|s| s.rfilename).collect())
    }

    /// Downloads `file` of `repo` to `dest`, resuming `dest.part` if an earlier attempt
    /// left one, and checks its SHA-256 against `expected_sha256` or the hub's LFS etag.
    /// Returns the file's SHA-256. A file the repository may lack: see
    /// [`HubClient::download_optional`].
    pub async fn download(
        &self,
        repo: &str,
        revision: &str,
        file: &str,
        dest: &Path,
        expected_sha256: Option<&str>,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<String> {
        match self
            .fetch(repo, revision, file, dest, expected_sha256, progress, false)
            .await?
        {
            Some(sha) => Ok(sha),
            None => Err(Error::Download {
                url: self.file_url(repo, revision, file),
                reason: "not found (404)".into(),
            }),
        }
    }

    /// Like [`HubClient::download`], but a file the repository does not have (404) is
    /// `Ok(None)` rather than an error.
    pub async fn download_optional(
        &self,
        repo: &str,
        revision: &str,
        file: &str,
        dest: &Path,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Option<String>> {
        self.fetch(repo, revision, file, dest, None, progress, true)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn fetch(
        &self,
        repo: &str,
        revision: &str,
        file: &str,
        dest: &Path,
        expected_sha256: Option<&str>,
        progress: &mut (dyn FnMut(&Progress) + Send),
        missing_ok: bool,
    ) -> Result<Option<String>> {
        let url = self.file_url(repo, revision, file);
        let fail = |reason: String| Error::Download {
            url: url.clone(),
            reason,
        };
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::io(dir, e))?;
        }
        let expected = match expected_sha256 {
            Some(e) => Some(e.to_ascii_lowercase()),
            None => self.published_sha256(&url).await,
        };
        let expected_sha256 = expected.as_deref();
        let part = part_path(dest);
        let have = tokio::fs::metadata(&part).await.map_or(0, |m| m.len());
        let mut req = self.get(&url);
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let resp = req.send().await.map_err(|e| fail(chain(&e)))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND && missing_ok {
            return Ok(None);
        }
        if status == reqwest::StatusCode::RANGE_NOT_SATISFIABLE && have > 0 {
            // The part is already whole (or the file changed): verify or start again.
            let sha = sha256_file(&part).await?;
            if expected_sha256.is_none_or(|e| e.eq_ignore_ascii_case(&sha)) {
                finish(&part, dest).await?;
                return Ok(Some(sha));
            }
            let _ = tokio::fs::remove_file(&part).await;
            return Box::pin(self.fetch(
                repo,
                revision,
                file,
                dest,
                expected_sha256,
                progress,
                missing_ok,
            ))
            .await;
        }
        if !status.is_success() {
            return Err(fail(status_reason(status)));
        }
        let resuming = status == reqwest::StatusCode::PARTIAL_CONTENT && have > 0;
        let expected = expected.or_else(|| lfs_sha256(resp.headers()));
        let start = if resuming { have } else { 0 };
        let total = resp.content_length().map(|n| n + start);
        let mut out = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resuming)
            .truncate(!resuming)
            .open(&part)
            .await
            .map_err(|e| Error::io(&part, e))?;
        let mut report = Progress {
            file: file.to_owned(),
            downloaded: start,
            total,
            resumed_from: start,
        };
        progress(&report);
        let mut body = resp.bytes_stream();
        let mut broken = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    broken = Some(e);
                    break;
                }
            };
            out.write_all(&chunk)
                .await
                .map_err(|e| Error::io(&part, e))?;
            report.downloaded += chunk.len() as u64;
            progress(&report);
        }
        // Flush even after a cut connection: what arrived is what the resume starts from.
        out.flush().await.map_err(|e| Error::io(&part, e))?;
        drop(out);
        if let Some(e) = broken {
            return Err(fail(format!(
                "the connection broke after {} bytes ({}); run the pull again to resume",
                report.downloaded,
                chain(&e)
            )));
        }
        if let Some(total) = total
            && report.downloaded < total
        {
            return Err(fail(format!(
                "the server sent {} of {total} bytes; run the pull again to resume",
                report.downloaded
            )));
        }
        let sha = sha256_file(&part).await?;
        if let Some(expected) = expected
            && expected != sha
        {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(Error::Checksum {
                path: dest.to_path_buf(),
                expected,
                actual: sha,
            });
        }
        finish(&part, dest).await?;
        Ok(Some(sha))
    }
}

/// An error and its causes on one line (reqwest's own message names only the URL).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn status_reason(status: reqwest::StatusCode) -> String {
    match status.as_u16() {
        401 | 403 => format!("{status}: the repository is gated or private; set HF_TOKEN"),
        404 => format!("{status}: no such repository or file"),
        _ => status.to_string(),
    }
}

/// The SHA-256 the hub gives for LFS files: `X-Linked-Etag` (on the redirect to the
/// CDN) or `ETag`, when it is 64 hex digits.
fn lfs_sha256(headers: &reqwest::header::HeaderMap) -> Option<String> {
    ["x-linked-etag", "etag"].iter().find_map(|h| {
        let v = headers.get(*h)?.to_str().ok()?;
        let v = v
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_ascii_lowercase();
        (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
    })
}

fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

async fn finish(part: &Path, dest: &Path) -> Result<()> {
    tokio::fs::rename(part, dest)
        .await
        .map_err(|e| Error::io(dest, e))
}

/// The SHA-256 of a file, as lowercase hex.
pub async fn sha256_file(path: &Path) -> Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || crate::store::sha256_of(&path))
        .await
        .map_err(|e| Error::Store(format!("hashing failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_etags_are_recognised() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("etag", "\"abc\"".parse().unwrap());
        assert_eq!(lfs_sha256(&h), None);
        let sha = "a".repeat(64);
        h.insert("x-linked-etag", format!("\"{sha}\"").parse().unwrap());
        assert_eq!(lfs_sha256(&h), Some(sha));
        assert_eq!(
            part_path(Path::new("/m/model.gguf")),
            PathBuf::from("/m/model.gguf.part")
        );
    }
}
