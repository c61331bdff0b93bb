//! `cuervo pii scan|redact [PATH…]`: find or redact personal data and secrets, on
//! `cuervo_text::pii`. Like a secret scanner in a pre-commit hook, both exit 1 when
//! something is found, 0 when the input is clean and 2 on an error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cuervo_text::pii::{self, PiiKind, Redactor};
use cuervo_text::scan::{self, WalkOptions};
use serde_json::json;

/// Find or redact personal data and secrets.
#[derive(Debug, clap::Args)]
pub struct PiiArgs {
    #[command(subcommand)]
    pub action: PiiAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum PiiAction {
    /// Report findings as `path:line:col: kind masked` (exit 1 when any).
    Scan(ScanArgs),
    /// Print the input with each finding replaced by `[REDACTED:kind]` (exit 1 when any).
    Redact(RedactArgs),
}

/// Options shared by both actions.
#[derive(Debug, clap::Args)]
pub struct KindArgs {
    /// Only these kinds (comma-separated): email, ipv4, ipv6, credit_card, ssn, phone,
    /// private_key, jwt, url_password, aws_access_key, aws_secret_key, github_token,
    /// gitlab_token, slack_token, slack_webhook, stripe_key, google_api_key, openai_key,
    /// anthropic_key, generic_secret.
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_kind)]
    pub kinds: Vec<PiiKind>,
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories (walked honouring .gitignore, .ignore and .cuervoignore);
    /// `-` or none reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Print JSON Lines: one object per finding, then a summary.
    #[arg(long)]
    pub json: bool,

    /// Walk hidden files and directories too.
    #[arg(long)]
    pub hidden: bool,

    /// Do not honour ignore files.
    #[arg(long)]
    pub no_ignore: bool,

    #[command(flatten)]
    pub kinds: KindArgs,
}

#[derive(Debug, clap::Args)]
pub struct RedactArgs {
    /// Files to redact, printed one after the other; `-` or none reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub kinds: KindArgs,
}

fn parse_kind(s: &str) -> Result<PiiKind, String> {
    s.trim()
        .parse()
        .map_err(|e: pii::UnknownKind| e.to_string())
}

/// Runs `cuervo pii`. Never returns an error: failures are reported and give exit 2, so
/// that 1 always means "found something".
pub fn run(args: &PiiArgs) -> anyhow::Result<ExitCode> {
    let outcome = match &args.action {
        PiiAction::Scan(a) => scan_cmd(a),
        PiiAction::Redact(a) => redact_cmd(a),
    };
    Ok(match outcome {
        Ok(o) if o.errors => ExitCode::from(2),
        Ok(o) if o.found => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cuervo pii: {e:#}");
            ExitCode::from(2)
        }
    })
}

struct Outcome {
    found: bool,
    errors: bool,
}

fn redactor(kinds: &KindArgs) -> anyhow::Result<Redactor> {
    Ok(if kinds.kinds.is_empty() {
        Redactor::new()?
    } else {
        Redactor::with_kinds(&kinds.kinds)?
    })
}

fn is_stdin(paths: &[PathBuf]) -> bool {
    paths.is_empty() || (paths.len() == 1 && paths[0].as_os_str() == "-")
}

fn read_stdin() -> anyhow::Result<String> {
    let mut buf = Vec::new();
    std::io::stdin().lock().read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Files per parallel batch: output streams batch by batch, memory stays bounded.
const BATCH: usize = 256;

fn scan_cmd(args: &ScanArgs) -> anyhow::Result<Outcome> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let outcome = scan_to(args, &mut out)?;
    out.flush()?;
    Ok(outcome)
}

/// `cuervo pii scan`, writing to `out`.
fn scan_to(args: &ScanArgs, out: &mut impl Write) -> anyhow::Result<Outcome> {
    let redactor = redactor(&args.kinds)?;
    let mut summary = Summary::default();
    if is_stdin(&args.paths) {
        let text = read_stdin()?;
        let findings: Vec<_> = redactor
            .scan(&text)
            .into_iter()
            .map(|f| {
                let m = f.masked(&text);
                (f, m)
            })
            .collect();
        summary.files = 1;
        report(out, "<stdin>", &findings, args.json, &mut summary)?;
    } else {
        let mut errors = false;
        let mut files = Vec::new();
        for path in &args.paths {
            if path.is_dir() {
                let opts = WalkOptions::default()
                    .root(path)
                    .hidden(args.hidden)
                    .ignore_files(!args.no_ignore)
                    .sorted(true);
                let (found, walk) = scan::files(&opts)?;
                for e in &walk.errors {
                    eprintln!("cuervo pii: {e}");
                    errors = true;
                }
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        summary.errors = errors;
        for batch in files.chunks(BATCH) {
            for file in redactor.scan_files(batch) {
                if let Some(e) = &file.error {
                    eprintln!("cuervo pii: {}: {e}", file.path.display());
                    summary.errors = true;
                    continue;
                }
                if file.binary {
                    continue;
                }
                summary.files += 1;
                report(
                    out,
                    &display(&file.path),
                    &file.findings,
                    args.json,
                    &mut summary,
                )?;
            }
        }
    }
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = summary
            .counts
            .iter()
            .map(|(k, n)| (k.name().to_string(), json!(n)))
            .collect();
        writeln!(
            out,
            "{}",
            json!({"type": "summary", "files": summary.files, "findings": summary.findings, "counts": counts})
        )?;
    }
    out.flush()?;
    Ok(Outcome {
        found: summary.findings > 0,
        errors: summary.errors,
    })
}

#[derive(Default)]
struct Summary {
    files: usize,
    findings: usize,
    counts: std::collections::BTreeMap<PiiKind, usize>,
    errors: bool,
}

fn report(
    out: &mut impl Write,
    path: &str,
    findings: &[(pii::Finding, String)],
    json: bool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    for (f, masked) in findings {
        summary.findings += 1;
        *summary.counts.entry(f.kind).or_insert(0) += 1;
        if json {
            let line = json!({
                "type": "finding", "path": path, "line": f.line, "column": f.column,
                "kind": f.kind, "start": f.start, "end": f.end, "masked": masked,
            });
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{path}:{}:{}: {} {masked}", f.line, f.column, f.kind)?;
        }
    }
    Ok(())
}

fn display(path: &Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn redact_cmd(args: &RedactArgs) -> anyhow::Result<Outcome> {
    let redactor = redactor(&args.kinds)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut outcome = Outcome {
        found: false,
        errors: false,
    };
    let mut write = |text: &str, out: &mut dyn Write| -> anyhow::Result<()> {
        let r = redactor.redact(text);
        outcome.found |= !r.is_clean();
        out.write_all(r.text.as_bytes())?;
        Ok(())
    };
    if is_stdin(&args.paths) {
        write(&read_stdin()?, &mut out)?;
    } else {
        for path in &args.paths {
            match std::fs::read(path) {
                Ok(bytes) => write(&String::from_utf8_lossy(&bytes), &mut out)?,
                Err(e) => {
                    eprintln!("cuervo pii: {}: {e}", path.display());
                    outcome.errors = true;
                }
            }
        }
    }
    out.flush()?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(parse_kind("email"), Ok(PiiKind::Email));
        assert_eq!(parse_kind(" github_token"), Ok(PiiKind::GithubToken));
        assert!(parse_kind("passport").is_err());
    }

    fn scan_args(paths: Vec<PathBuf>) -> ScanArgs {
        ScanArgs {
            paths,
            json: false,
            hidden: false,
            no_ignore: false,
            kinds: KindArgs { kinds: vec![] },
        }
    }

    #[test]
    fn scan_walks_directories_honouring_gitignore() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(".gitignore"), "ignored.env\n")?;
        std::fs::write(dir.path().join("ignored.env"), "contact: eve@example.com\n")?;
        std::fs::write(
            dir.path().join("app.cfg"),
            "# owner\nadmin = bob@example.org\n",
        )?;
        std::fs::write(dir.path().join("clean.txt"), "nothing here\n")?;
        let mut out = Vec::new();
        let outcome = scan_to(&scan_args(vec![dir.path().to_path_buf()]), &mut out)?;
        let out = String::from_utf8(out)?;
        assert!(outcome.found && !outcome.errors);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with("app.cfg:2:9: email ************\n"), "{out}");
        Ok(())
    }

    #[test]
    fn scan_of_clean_and_missing_files() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let clean = dir.path().join("clean.txt");
        std::fs::write(&clean, "version = \"1.2.3.4\"\n")?;
        let outcome = scan_to(&scan_args(vec![clean]), &mut Vec::new())?;
        assert!(!outcome.found && !outcome.errors);
        let outcome = scan_to(
            &scan_args(vec![dir.path().join("missing")]),
            &mut Vec::new(),
        )?;
        assert!(outcome.errors);
        Ok(())
    }

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        #[derive(Debug, clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            pii: PiiArgs,
        }
        Wrapper::command().debug_assert();
    }
}
