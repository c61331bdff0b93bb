//! A reader for the metadata of a GGUF file, in plain Rust.
//!
//! The engine (llama.cpp) reads the whole file when it loads a model; this module reads
//! only the header, so the store can tell a chat model from an embedding model, and the
//! provider can answer `capabilities` (context length, chat template, tool support)
//! without loading weights. Format: <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// A metadata value. Arrays of numbers are kept whole (token types, merges are strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U64(v) => Some(v),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// The header of a GGUF file: its version, tensor count and key-value metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufMetadata {
    pub version: u32,
    pub tensor_count: u64,
    pub kv: BTreeMap<String, Value>,
}

const MAGIC: &[u8; 4] = b"GGUF";
/// Guards against a corrupt length asking for gigabytes.
const MAX_STRING: u64 = 64 << 20;
const MAX_ARRAY: u64 = 16 << 20;

impl GgufMetadata {
    /// Reads the metadata of the GGUF file at `path` (not the tensors).
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_reader(BufReader::with_capacity(1 << 16, file)).map_err(|reason| Error::Gguf {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses the metadata from the start of a GGUF stream.
    pub fn from_reader(mut r: impl Read) -> std::result::Result<Self, String> {
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic)
            .map_err(|e| format!("cannot read the header: {e}"))?;
        if &magic != MAGIC {
            return Err("not a GGUF file (bad magic)".into());
        }
        let version = read_u32(&mut r)?;
        if !(2..=3).contains(&version) {
            return Err(format!("unsupported GGUF version {version}"));
        }
        let tensor_count = read_u64(&mut r)?;
        let kv_count = read_u64(&mut r)?;
        let mut kv = BTreeMap::new();
        for _ in 0..kv_count {
            let key = read_string(&mut r)?;
            let ty = read_u32(&mut r)?;
            let value = read_value(&mut r, ty)?;
            kv.insert(key, value);
        }
        Ok(Self {
            version,
            tensor_count,
            kv,
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kv.get(key)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    /// `general.architecture`: `llama`, `qwen2`, `qwen3`, `phi3`, `gemma3`, `bert`...
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// `general.name`, the model's display name.
    pub fn name(&self) -> Option<&str> {
        self.get_str("general.name")
    }

    /// `<arch>.context_length`: the context the model was trained with.
    pub fn context_length(&self) -> Option<u64> {
        let arch = self.architecture()?;
        self.get_u64(&format!("{arch}.context_length"))
    }

    /// `tokenizer.chat_template`: the Jinja chat template, if the file carries one.
    pub fn chat_template(&self) -> Option<&str> {
        self.get_str("tokenizer.chat_template")
    }

    /// The text of token `id` in `tokenizer.ggml.tokens`.
    pub fn token_text(&self, id: u64) -> Option<&str> {
        let tokens = self.get("tokenizer.ggml.tokens")?.as_array()?;
        tokens.get(usize::try_from(id).ok()?)?.as_str()
    }

    /// The text of the BOS token, or "" when the file names none.
    pub fn bos_token(&self) -> &str {
        self.get_u64("tokenizer.ggml.bos_token_id")
            .and_then(|id| self.token_text(id))
            .unwrap_or("")
    }

    /// The text of the EOS token, or "" when the file names none.
    pub fn eos_token(&self) -> &str {
        self.get_u64("tokenizer.ggml.eos_token_id")
            .and_then(|id| self.token_text(id))
            .unwrap_or("")
    }

    /// Whether this is an encoder (embedding) model rather than a chat model.
    pub fn is_embedding_model(&self) -> bool {
        matches!(
            self.architecture(),
            Some("bert" | "nomic-bert" | "jina-bert-v2" | "t5encoder" | "modern-bert")
        )
    }
}

fn read_exact<const N: usize>(r: &mut impl Read) -> std::result::Result<[u8; N], String> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)
        .map_err(|e| format!("truncated metadata: {e}"))?;
    Ok(buf)
}

fn read_u32(r: &mut impl Read) -> std::result::Result<u32, String> {
    Ok(u32::from_le_bytes(read_exact(r)?))
}

fn read_u64(r: &mut impl Read) -> std::result::Result<u64, String> {
    Ok(u64::from_le_bytes(read_exact(r)?))
}

fn read_string(r: &mut impl Read) -> std::result::Result<String, String> {
    let len = read_u64(r)?;
    if len > MAX_STRING {
        return Err(format!("string of {len} bytes is too long"));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)
        .map_err(|e| format!("truncated string: {e}"))?;
    // Token texts may be arbitrary bytes; keep what is valid.
    Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
}

fn read_value(r: &mut impl Read, ty: u32) -> std::result::Result<Value, String> {
    Ok(match ty {
        0 => Value::U64(u64::from(u8::from_le_bytes(read_exact(r)?))),
        1 => Value::I64(i64::from(i8::from_le_bytes(read_exact(r)?))),
        2 => Value::U64(u64::from(u16::from_le_bytes(read_exact(r)?))),
        3 => Value::I64(i64::from(i16::from_le_bytes(read_exact(r)?))),
        4 => Value::U64(u64::from(read_u32(r)?)),
        5 => Value::I64(i64::from(i32::from_le_bytes(read_exact(r)?))),
        6 => Value::F64(f64::from(f32::from_le_bytes(read_exact(r)?))),
        7 => Value::Bool(u8::from_le_bytes(read_exact(r)?) != 0),
        8 => Value::String(read_string(r)?),
        9 => {
            let item_ty = read_u32(r)?;
            let len = read_u64(r)?;
            if len > MAX_ARRAY {
                return Err(format!("array of {len} items is too long"));
            }
            let mut items = Vec::with_capacity(len as usize);
            for _ in 0..len {
                items.push(read_value(r, item_ty)?);
            }
            Value::Array(items)
        }
        10 => Value::U64(read_u64(r)?),
        11 => Value::I64(i64::from_le_bytes(read_exact(r)?)),
        12 => Value::F64(f64::from_le_bytes(read_exact(r)?)),
        other => return Err(format!("unknown metadata type {other}")),
    })
}

/// Writes a GGUF header with the given metadata and no tensors (tests and fixtures).
pub fn write_header(kv: &[(&str, Value)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn ty(v: &Value) -> u32 {
        match v {
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
        }
    }
    fn value(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U64(n) => out.extend_from_slice(&n.to_le_bytes()),
            Value::I64(n) => out.extend_from_slice(&n.to_le_bytes()),
            Value::F64(n) => out.extend_from_slice(&n.to_le_bytes()),
            Value::Bool(b) => out.push(u8::from(*b)),
            Value::String(s) => string(out, s),
            Value::Array(items) => {
                let item_ty = items.first().map_or(8, ty);
                out.extend_from_slice(&item_ty.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for item in items {
                    value(out, item);
                }
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(kv.len() as u64).to_le_bytes());
    for (k, v) in kv {
        string(&mut out, k);
        out.extend_from_slice(&ty(v).to_le_bytes());
        value(&mut out, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_write_header_wrote() {
        let bytes = write_header(&[
            ("general.architecture", Value::String("qwen2".into())),
            ("qwen2.context_length", Value::U64(32768)),
            ("tokenizer.ggml.eos_token_id", Value::U64(1)),
            (
                "tokenizer.ggml.tokens",
                Value::Array(vec![
                    Value::String("<s>".into()),
                    Value::String("</s>".into()),
                ]),
            ),
        ]);
        let meta = GgufMetadata::from_reader(&bytes[..]).unwrap();
        assert_eq!(meta.architecture(), Some("qwen2"));
        assert_eq!(meta.context_length(), Some(32768));
        assert_eq!(meta.eos_token(), "</s>");
        assert_eq!(meta.bos_token(), "");
        assert!(!meta.is_embedding_model());
    }

    #[test]
    fn rejects_other_files_and_truncation() {
        assert!(
            GgufMetadata::from_reader(&b"PK\x03\x04rest"[..])
                .unwrap_err()
                .contains("bad magic")
        );
        let bytes = write_header(&[("general.name", Value::String("x".into()))]);
        let cut = &bytes[..bytes.len() - 1];
        assert!(
            GgufMetadata::from_reader(cut)
                .unwrap_err()
                .contains("truncated")
        );
    }
}
