//! The embedded local-model engines as the composition root sees them: the one place
//! outside `cuervo models` that builds a `cuervo_local` provider.
//!
//! The engines are the cli's `local` cargo feature (on by default). Without it the binary
//! has no llama.cpp: `cuervo models list|import|pull` still work (the model store is always
//! built), and choosing the local provider fails with how to get a build that has it.

use std::sync::Arc;

use anyhow::Result;
use cuervo_domain::ModelProvider;

use crate::config::ProviderConfig;

/// Models on this machine: names resolve through the model store under the XDG data dir
/// (`cuervo models import|pull`), or are paths to a GGUF file.
#[cfg(feature = "local")]
pub fn provider(p: &ProviderConfig) -> Result<Arc<dyn ModelProvider>> {
    use anyhow::Context;

    let store =
        cuervo_local::ModelStore::open_default().context("cannot open the local model store")?;
    // The local provider's own sampling defaults: greedy (small models answer far better
    // so) with a repetition penalty and a stop for loops, so a small model does not repeat
    // itself until `max_tokens`; `temperature` in the config (sent with each request)
    // still turns sampling on.
    let options = cuervo_local::LocalOptions {
        embedding_model: p.embedding_model.clone(),
        ..cuervo_local::LocalOptions::default()
    };
    Ok(Arc::new(cuervo_local::LocalProvider::new(
        Some(store),
        options,
    )))
}

/// This build has no local-model engine: say so, and how to get one.
#[cfg(not(feature = "local"))]
pub fn provider(_p: &ProviderConfig) -> Result<Arc<dyn ModelProvider>> {
    anyhow::bail!("{NOT_BUILT}")
}

/// What a build without the `local` feature answers when a local model is asked for.
pub const NOT_BUILT: &str = "this cuervo was built without local models; rebuild it with them \
     (`cargo build --release -p cuervo-cli --features local`, the default) or choose another provider";

#[cfg(all(test, not(feature = "local")))]
mod tests {
    use super::*;

    #[test]
    fn without_the_engines_a_local_model_says_how_to_rebuild() {
        let err = provider(&ProviderConfig::default())
            .err()
            .expect("no local provider in this build");
        assert!(err.to_string().contains("--features local"), "{err}");
    }
}
