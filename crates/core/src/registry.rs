//! The tools one agent may use, by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use cuervo_domain::{Tool, ToolSpec};

/// Tools keyed by name. Order is stable (by name) so requests are byte-identical across
/// turns, which keeps provider prompt caches warm.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl ToolRegistry {
    pub fn new(tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> Self {
        Self {
            tools: tools
                .into_iter()
                .map(|t| (t.name().to_owned(), t))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .values()
            .map(|t| ToolSpec {
                name: t.name().to_owned(),
                description: t.description().to_owned(),
                input_schema: t.input_schema(),
            })
            .collect()
    }

    /// Keeps only the tools `keep` accepts (e.g. read-only tools for a planner).
    pub fn retain(&mut self, mut keep: impl FnMut(&dyn Tool) -> bool) {
        self.tools.retain(|_, t| keep(t.as_ref()));
    }
}
