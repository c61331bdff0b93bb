//! Turning the model's JSON arguments into typed inputs, with errors the model can act on.

use cuervo_domain::ToolError;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses `input` into the tool's input type. Each input type denies unknown fields, so
/// a misspelt argument is reported instead of silently ignored.
pub(crate) fn parse<T: DeserializeOwned>(tool: &str, input: &Value) -> Result<T, ToolError> {
    T::deserialize(input).map_err(|e| {
        ToolError::InvalidInput(format!(
            "{tool}: {e}; call it again with arguments that match its input schema"
        ))
    })
}

/// Rejects an empty or whitespace-only string argument.
pub(crate) fn non_empty(tool: &str, field: &str, value: &str) -> Result<(), ToolError> {
    if value.trim().is_empty() {
        return Err(ToolError::InvalidInput(format!(
            "{tool}: `{field}` is empty; give a non-empty value"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        path: String,
    }

    #[test]
    fn reports_missing_and_unknown_fields() {
        let e = parse::<In>("read", &json!({})).expect_err("missing");
        assert!(matches!(&e, ToolError::InvalidInput(m) if m.contains("missing field `path`")));
        let e = parse::<In>("read", &json!({"path": "a", "pth": 1})).expect_err("unknown");
        assert!(matches!(&e, ToolError::InvalidInput(m) if m.contains("unknown field `pth`")));
        assert!(parse::<In>("read", &json!({"path": "a"})).is_ok());
        assert!(non_empty("bash", "command", "  ").is_err());
    }
}
