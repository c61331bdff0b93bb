use pretty_assertions::assert_eq;
use serde_json::json;

use super::{Project, failed, invalid};

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("line {i}\n")).collect()
}

#[tokio::test]
async fn reads_whole_small_files_numbered() {
    let p = Project::new();
    p.file("a.txt", "alpha\n\tbeta\ngamma");
    let out = p.ok("read", json!({"path": "a.txt"})).await;
    assert_eq!(out, "     1\talpha\n     2\t\tbeta\n     3\tgamma");
}

#[tokio::test]
async fn reads_a_range_and_says_how_to_continue() {
    let p = Project::new();
    p.file("a.txt", numbered(50));
    let out = p
        .ok("read", json!({"path": "a.txt", "offset": 10, "limit": 3}))
        .await;
    assert_eq!(
        out,
        "    10\tline 10\n    11\tline 11\n    12\tline 12\n… 38 more lines; read with offset=13 to continue"
    );
}

#[tokio::test]
async fn default_limit_is_2000_lines() {
    let p = Project::new();
    p.file("big.txt", numbered(2500));
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 1_000_000;
    let out = p
        .tool("read")
        .execute(json!({"path": "big.txt"}), &ctx)
        .await
        .expect("read");
    assert!(out.content.contains("  2000\tline 2000\n"));
    assert!(!out.content.contains("\tline 2001"));
    assert!(
        out.content
            .ends_with("… 500 more lines; read with offset=2001 to continue")
    );
}

#[tokio::test]
async fn long_lines_are_truncated() {
    let p = Project::new();
    p.file("min.js", format!("{}\nshort\n", "x".repeat(5000)));
    let out = p.ok("read", json!({"path": "min.js"})).await;
    assert!(
        out.contains("[line truncated, 3000 more characters]"),
        "{}",
        &out[..100]
    );
    assert!(out.len() < 2200, "{}", out.len());
    assert!(out.ends_with("     2\tshort"));
}

#[tokio::test]
async fn output_is_capped_at_the_limit_without_splitting_utf8() {
    let p = Project::new();
    let text: String = (0..500).map(|i| format!("{i} ñandú 🦀 ü\n")).collect();
    p.file("u.txt", &text);
    let mut ctx = p.ctx.clone();
    ctx.output_limit = 700;
    let out = p
        .tool("read")
        .execute(json!({"path": "u.txt"}), &ctx)
        .await
        .expect("read");
    assert!(out.content.len() <= 700, "{}", out.content.len());
    assert!(out.content.contains("offset="));
    assert!(!out.content.contains('\u{FFFD}'));
}

#[tokio::test]
async fn binary_files_are_refused() {
    let p = Project::new();
    p.file("img.bin", b"PNG\x00\x01\x02rest of it");
    let msg = failed(p.err("read", json!({"path": "img.bin"})).await);
    assert!(msg.contains("binary"), "{msg}");
}

#[tokio::test]
async fn missing_files_and_directories_fail_clearly() {
    let p = Project::new();
    std::fs::create_dir(p.root.join("dir")).expect("mkdir");
    let msg = failed(p.err("read", json!({"path": "nope.rs"})).await);
    assert!(
        msg.contains("nope.rs does not exist") && msg.contains("glob"),
        "{msg}"
    );
    let msg = failed(p.err("read", json!({"path": "dir"})).await);
    assert!(
        msg.contains("is a directory") && msg.contains("ls"),
        "{msg}"
    );
}

#[tokio::test]
async fn bad_ranges_are_reported() {
    let p = Project::new();
    p.file("a.txt", numbered(3));
    let msg = failed(p.err("read", json!({"path": "a.txt", "offset": 9})).await);
    assert!(
        msg.contains("past the end") && msg.contains("3 lines"),
        "{msg}"
    );
    let msg = invalid(p.err("read", json!({"path": "a.txt", "limit": 0})).await);
    assert!(msg.contains("limit"), "{msg}");
}

#[tokio::test]
async fn special_files_are_refused() {
    let p = Project::new();
    let msg = failed(p.err("read", json!({"path": "/dev/zero"})).await);
    assert!(msg.contains("not a regular file"), "{msg}");
}

/// The process's peak resident memory so far, in KiB (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Growth of peak memory allowed while reading a huge file: the file must be streamed.
const PEAK_GROWTH_KIB: u64 = 64 * 1024;

#[tokio::test]
async fn a_sparse_3_gb_file_is_sniffed_not_loaded() {
    let p = Project::new();
    let path = p.root.join("disk.img");
    std::fs::File::create(&path)
        .expect("create")
        .set_len(3 << 30)
        .expect("set_len");
    let before = peak_rss_kib();
    let msg = failed(p.err("read", json!({"path": "disk.img"})).await);
    assert!(
        msg.contains("binary file (3221225472 bytes)"),
        "the size comes from the metadata: {msg}"
    );
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < PEAK_GROWTH_KIB, "peak memory grew by {grown} KiB");
}

#[tokio::test]
async fn a_200_mb_single_line_is_streamed_and_cut() {
    use std::io::Write;
    let p = Project::new();
    let path = p.root.join("one-line.json");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..200 {
        file.write_all(&chunk).expect("write");
    }
    file.write_all(b"\nsecond line\n").expect("write");
    file.flush().expect("flush");
    drop(file);
    drop(chunk);

    let before = peak_rss_kib();
    let out = p.ok("read", json!({"path": "one-line.json"})).await;
    let grown = peak_rss_kib().saturating_sub(before);
    let more = 200 * (1 << 20) - 2000;
    assert!(
        out.contains(&format!("[line truncated, {more} more characters]")),
        "{}",
        &out[..out.len().min(300)]
    );
    assert!(out.ends_with("     2\tsecond line"), "{}", &out[2000..]);
    assert!(
        out.len() < 2200,
        "the result is bounded: {} bytes",
        out.len()
    );
    assert!(grown < PEAK_GROWTH_KIB, "peak memory grew by {grown} KiB");

    // A window past the long line skips it without keeping it.
    let out = p
        .ok("read", json!({"path": "one-line.json", "offset": 2}))
        .await;
    assert_eq!(out, "     2\tsecond line");
}
