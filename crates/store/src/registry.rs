//! The `model_registry` table: remote models a user added by hand (`cuervo models add`),
//! beside each provider's default, with the capabilities known when they were added.

use rusqlite::params;
use serde_json::Value;

use crate::{Db, Result};

/// A model added to the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// `provider/name`: unique, and what `--model` accepts.
    pub id: String,
    pub provider: String,
    pub name: String,
    pub capabilities: Option<Value>,
    pub created_at: String,
}

impl Db {
    /// Adds (or re-adds, updating the capabilities) `provider/name`.
    pub fn register_model(
        &self,
        provider: &str,
        name: &str,
        capabilities: Option<&Value>,
    ) -> Result<RegisteredModel> {
        let id = format!("{provider}/{name}");
        let caps = capabilities.map(serde_json::to_string).transpose()?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO model_registry (id, provider, name, capabilities, is_active)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT(id) DO UPDATE SET capabilities = excluded.capabilities, is_active = 1",
                params![id, provider, name, caps],
            )?;
            Ok(())
        })?;
        self.registered_models()?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| crate::Error::Corrupt(format!("model {id} vanished after it was added")))
    }

    /// Every active registered model, by id.
    pub fn registered_models(&self) -> Result<Vec<RegisteredModel>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, provider, name, capabilities, created_at FROM model_registry
                 WHERE is_active = 1 ORDER BY id",
            )?;
            let rows = stmt.query_map([], |row| {
                let caps: Option<String> = row.get(3)?;
                Ok(RegisteredModel {
                    id: row.get(0)?,
                    provider: row.get(1)?,
                    name: row.get(2)?,
                    capabilities: caps.and_then(|c| serde_json::from_str(&c).ok()),
                    created_at: row.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Removes `provider/name`; false when it was not registered.
    pub fn unregister_model(&self, id: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute("DELETE FROM model_registry WHERE id = ?1", params![id])? > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn add_list_update_remove() {
        let db = Db::open_in_memory().unwrap();
        let m = db
            .register_model("openai", "gpt-5-mini", Some(&json!({"tools": true})))
            .unwrap();
        assert_eq!(m.id, "openai/gpt-5-mini");
        db.register_model("anthropic", "claude-haiku-4-5", None)
            .unwrap();
        db.register_model("openai", "gpt-5-mini", Some(&json!({"tools": false})))
            .unwrap();
        let all = db.registered_models().unwrap();
        assert_eq!(
            all.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["anthropic/claude-haiku-4-5", "openai/gpt-5-mini"]
        );
        assert_eq!(
            all[1].capabilities,
            Some(json!({"tools": false})),
            "re-adding updates"
        );
        assert!(db.unregister_model("openai/gpt-5-mini").unwrap());
        assert!(!db.unregister_model("openai/gpt-5-mini").unwrap());
        assert_eq!(db.registered_models().unwrap().len(), 1);
    }
}
