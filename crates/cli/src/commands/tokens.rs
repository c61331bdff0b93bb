//! `cuervo tokens [FILE…]`: count tokens per file and in total, exactly as Python tiktoken
//! does for OpenAI encodings, or with a documented estimate for Claude and Gemini models.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cuervo_text::tokens::{Encoding, Tokenizer};
use serde_json::json;

/// Count tokens in files (or stdin), like `wc` for tokens.
#[derive(Debug, clap::Args)]
pub struct TokensArgs {
    /// Files to count; `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The tiktoken encoding (exact counts).
    #[arg(long, short = 'e', value_name = "NAME", default_value = "o200k_base", value_parser = parse_encoding)]
    pub encoding: Encoding,

    /// Count for this model instead: its own encoding for OpenAI models (gpt-4o, gpt-4.1,
    /// o1/o3/o4 → o200k_base; gpt-4, gpt-3.5 → cl100k_base), an estimate for Claude and
    /// Gemini, whose tokenizers are not public.
    #[arg(long, short = 'm', value_name = "MODEL", conflicts_with = "encoding")]
    pub model: Option<String>,

    /// Print JSON: the tokenizer, whether counts are exact, each file and the total.
    #[arg(long)]
    pub json: bool,
}

fn parse_encoding(s: &str) -> Result<Encoding, String> {
    s.parse()
        .map_err(|e: cuervo_text::tokens::UnknownEncoding| e.to_string())
}

/// Runs `cuervo tokens`. Exit status: 0, or 2 when a file could not be read.
pub fn run(args: &TokensArgs) -> anyhow::Result<ExitCode> {
    let tokenizer = match &args.model {
        Some(model) => Tokenizer::for_model(model),
        None => Tokenizer::Exact(args.encoding),
    };
    if let (Some(model), Tokenizer::Estimated(_)) = (&args.model, tokenizer) {
        eprintln!(
            "note: {model} has no public tokenizer; counts are estimates ({}), see `cuervo_text::tokens::estimate`",
            tokenizer.name()
        );
    }
    let inputs: Vec<PathBuf> = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let mut rows = Vec::with_capacity(inputs.len());
    let mut failed = false;
    for path in &inputs {
        match read(path) {
            Ok(text) => rows.push((display(path), text.len(), tokenizer.count(&text))),
            Err(e) => {
                eprintln!("cuervo tokens: {}: {e}", path.display());
                failed = true;
            }
        }
    }
    let total_tokens: usize = rows.iter().map(|r| r.2).sum();
    let total_bytes: usize = rows.iter().map(|r| r.1).sum();
    let mut out = std::io::stdout().lock();
    if args.json {
        let files: Vec<_> = rows
            .iter()
            .map(|(path, bytes, tokens)| json!({"path": path, "bytes": bytes, "tokens": tokens}))
            .collect();
        let doc = json!({
            "tokenizer": tokenizer.name(),
            "exact": tokenizer.is_exact(),
            "files": files,
            "total": {"bytes": total_bytes, "tokens": total_tokens},
        });
        writeln!(out, "{doc}")?;
    } else {
        let width = total_tokens.to_string().len().max(7);
        for (path, _, tokens) in &rows {
            writeln!(out, "{tokens:>width$} {path}")?;
        }
        if rows.len() > 1 {
            writeln!(out, "{total_tokens:>width$} total")?;
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn display(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        "-".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads a file (or stdin for `-`) as text; bytes that are not UTF-8 become U+FFFD.
fn read(path: &std::path::Path) -> std::io::Result<String> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(path)?
    };
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_parse() {
        assert_eq!(parse_encoding("cl100k_base"), Ok(Encoding::Cl100kBase));
        assert!(parse_encoding("gpt2").is_err());
    }
}
