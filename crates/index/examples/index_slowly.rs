//! Indexes a tree in batches of one file, sleeping after each, printing `batch N` as each
//! commits: the integration tests `kill -9` it midway.
//!
//! `cargo run -p cuervo-index --example index_slowly -- ROOT BASE DELAY_MS`

use std::io::Write as _;
use std::time::Duration;

use cuervo_index::{HashEmbedder, Index, IndexOptions, UpdateOptions};

fn main() -> anyhow_free::Result {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(base), Some(delay)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: index_slowly ROOT BASE DELAY_MS".into());
    };
    let delay: u64 = delay.parse()?;
    let embedder = HashEmbedder::new(64);
    let index = Index::open(
        root.as_ref(),
        base.as_ref(),
        &embedder,
        // The backend the integration suite runs on (see `tests/suite/mod.rs`).
        IndexOptions {
            #[cfg(feature = "lancedb")]
            backend: cuervo_index::VectorBackend::LanceDb,
            ..IndexOptions::default()
        },
    )?;
    let options = UpdateOptions {
        batch_files: 1,
        batch_delay: Some(Duration::from_millis(delay)),
        ..UpdateOptions::default()
    };
    let mut out = std::io::stdout();
    index.update(&embedder, &options, &mut |p| {
        let _ = writeln!(out, "batch {}", p.files_done);
        let _ = out.flush();
    })?;
    let _ = writeln!(out, "done");
    Ok(())
}

mod anyhow_free {
    pub type Result = std::result::Result<(), Box<dyn std::error::Error>>;
}
