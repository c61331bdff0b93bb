//! `cuervo cache`: what the on-disk (L2) caches hold, and emptying them.
//!
//! The L1 caches (embeddings, search results, model capabilities) live in the memory of
//! each `cuervo` process for five minutes and end with it; there is nothing of theirs to
//! show or clear from another process, and `stats` says so.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use cuervo_store::cache::{self, CacheStats, Cleared};
use serde_json::json;

use crate::render::thousands;
use crate::setup::{Env, state};

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// How many answers and files the on-disk caches hold, their size and hits.
    Stats {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Empty the on-disk caches: cached answers, file hashes and parse results. Sessions
    /// and the audit log are not touched.
    Clear,
}

pub async fn run(args: &CacheArgs, env: &Env) -> Result<ExitCode> {
    let db = state::open_db(env)?;
    match &args.action {
        CacheAction::Stats { json } => {
            let now = cache::system_clock()();
            let stats = tokio::task::spawn_blocking(move || cache::stats(&db, now)).await??;
            if *json {
                println!("{}", stats_json(&stats));
            } else {
                print!("{}", stats_text(&stats));
            }
        }
        CacheAction::Clear => {
            let cleared = tokio::task::spawn_blocking(move || cache::clear(&db)).await??;
            println!("{}", cleared_text(&cleared));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The human form of `cuervo cache stats`.
pub fn stats_text(s: &CacheStats) -> String {
    let expired = if s.semantic_expired > 0 {
        format!(
            " ({} expired, removed on the next write)",
            thousands(s.semantic_expired)
        )
    } else {
        String::new()
    };
    format!(
        "semantic cache: {} answers{expired}, {}, {} hits\n\
         file cache:     {} files, {} parse results ({})\n\
         in-memory caches (embeddings, search results, model capabilities) belong to each \
         running cuervo and end with it.\n",
        thousands(s.semantic_entries),
        bytes(s.semantic_bytes),
        thousands(s.semantic_hits),
        thousands(s.file_entries),
        thousands(s.parse_entries),
        bytes(s.parse_bytes),
    )
}

/// The JSON form of `cuervo cache stats --json`.
pub fn stats_json(s: &CacheStats) -> serde_json::Value {
    json!({
        "semantic": {
            "entries": s.semantic_entries,
            "bytes": s.semantic_bytes,
            "hits": s.semantic_hits,
            "expired": s.semantic_expired,
        },
        "files": {
            "entries": s.file_entries,
            "parse_results": s.parse_entries,
            "parse_bytes": s.parse_bytes,
        },
    })
}

fn cleared_text(c: &Cleared) -> String {
    format!(
        "cleared {} cached answers and {} file entries",
        thousands(c.semantic_entries),
        thousands(c.file_entries)
    )
}

/// Bytes in the largest unit that keeps a number at least 1 (`1.5 MB`).
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(bytes(1 << 30), "1.0 GB");
    }

    #[test]
    fn stats_say_what_each_cache_holds() {
        let s = CacheStats {
            semantic_entries: 1200,
            semantic_bytes: 3 << 20,
            semantic_hits: 7,
            semantic_expired: 2,
            file_entries: 40,
            parse_entries: 38,
            parse_bytes: 2048,
        };
        let text = stats_text(&s);
        assert!(
            text.starts_with("semantic cache: 1,200 answers (2 expired"),
            "{text}"
        );
        assert!(text.contains("3.0 MB, 7 hits"), "{text}");
        assert!(
            text.contains("40 files, 38 parse results (2.0 KB)"),
            "{text}"
        );
        assert!(text.contains("in-memory caches"), "{text}");
        assert_eq!(stats_json(&s)["semantic"]["hits"], json!(7));
    }
}
