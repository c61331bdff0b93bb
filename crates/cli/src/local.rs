//! The embedded local-model engines as the composition root sees them: the one place
//! outside `cuervo models` that builds a `cuervo_local` provider.

use std::sync::Arc;

use anyhow::{Context, Result};
use cuervo_domain::ModelProvider;

use crate::config::ProviderConfig;

/// Models on this machine: names resolve through the model store under the XDG data dir
/// (`cuervo models import|pull`), or are paths to a GGUF file.
pub fn provider(p: &ProviderConfig) -> Result<Arc<dyn ModelProvider>> {
    let store =
        cuervo_local::ModelStore::open_default().context("cannot open the local model store")?;
    // Small local models answer far better greedily; `temperature` in the config (sent
    // with each request) still turns sampling on.
    let options = cuervo_local::LocalOptions {
        embedding_model: p.embedding_model.clone(),
        default_temperature: 0.0,
        ..cuervo_local::LocalOptions::default()
    };
    Ok(Arc::new(cuervo_local::LocalProvider::new(
        Some(store),
        options,
    )))
}
