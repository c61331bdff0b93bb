#!/usr/bin/env bash
# Benchmarks tree-sitter parsing + symbol extraction and chunking (crates/text/src/syntax)
# with the criterion bench `crates/text/benches/syntax.rs` (release profile), and prints
# markdown table rows:
#
#   | task | cuervo | peer | target |
#
# Throughput is source MB (10^6 bytes) per second, from criterion's median of 10 runs over
# a corpus read into memory first. There is no peer tool to race, hence "—". The "per CPU
# second" rows divide by the thread's own CPU time (Linux schedstat) in one extra pass, a
# figure that holds when other processes compete for the cores (wall-clock rows do not).
#
# Corpora (outside the repository):
#   - rust: the `.rs` files of the cargo registry (RUST_CORPUS, default
#     ~/.cargo/registry/src), a fixed pseudo-random sample of MAX_MB (default 24);
#   - mixed: Python's standard library, the Linux kernel's C (unpacked under BENCH_DIR
#     like scripts/bench/text-scan.sh does), npm's JavaScript, PHP/shell/C++ files found on
#     the machine, the registry's Rust and the syntax test fixtures (MIXED_CORPUS, `:`
#     separated), MAX_MB split evenly among the languages present.
#
# Environment: RUST_CORPUS, MIXED_CORPUS, BENCH_DIR (default /tmp/cuervo-bench), MAX_MB,
# CARGO_TARGET_DIR. Per-language single-thread figures go to stderr.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cuervo-bench}
MAX_MB=${MAX_MB:-24}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET_DIR

log() { echo "$*" >&2; }

RUST_CORPUS=${RUST_CORPUS:-$HOME/.cargo/registry/src}
if [[ -z ${MIXED_CORPUS:-} ]]; then
    KERNEL=$BENCH_DIR/linux-source-6.1
    if [[ ! -f $KERNEL/.done && -f /usr/src/linux-source-6.1.tar.xz ]]; then
        log "unpacking the kernel source into $BENCH_DIR"
        mkdir -p "$BENCH_DIR"
        rm -rf "$KERNEL"
        tar -C "$BENCH_DIR" -xf /usr/src/linux-source-6.1.tar.xz
        touch "$KERNEL/.done"
    fi
    MIXED_CORPUS=$ROOT/crates/text/tests/fixtures/syntax:$RUST_CORPUS
    for dir in /usr/lib/python3.* "$KERNEL" /usr/lib/node_modules /usr/lib/google-cloud-sdk /usr/share/bison; do
        [[ -d $dir ]] && MIXED_CORPUS=$MIXED_CORPUS:$dir
    done
fi

log "building the bench (release)"
(cd "$ROOT" && cargo bench -p cuervo-text --bench syntax --no-run >&2)

# run NAME CORPUS LANGS
run() {
    log "corpus $1"
    (cd "$ROOT" && CUERVO_BENCH_NAME=$1 CUERVO_BENCH_CORPUS=$2 CUERVO_BENCH_LANGS=$3 \
        CUERVO_BENCH_MAX_MB=$MAX_MB cargo bench -p cuervo-text --bench syntax 2>&1 |
        grep -E '^(corpus|per-language|single pass)' | tee "$TARGET_DIR/criterion/$1.log" >&2)
}

# cpu_row GROUP LABEL
cpu_row() {
    local mbs
    mbs=$(sed -n 's/^single pass cpu: \([0-9.]*\) MB\/s/\1/p' "$TARGET_DIR/criterion/$1.log")
    if [[ -n $mbs ]]; then
        echo "| $2 | $mbs MB/s | — | target ≥ 5 MB/s |"
    fi
}

# row GROUP BENCH LABEL
row() {
    python3 - "$TARGET_DIR/criterion/$1/$2/new" "$3" <<'PY'
import json, sys
d, label = sys.argv[1], sys.argv[2]
est = json.load(open(f"{d}/estimates.json"))
bench = json.load(open(f"{d}/benchmark.json"))
seconds = est["median"]["point_estimate"] / 1e9
mb = bench["throughput"]["Bytes"] / 1e6
print(f"| {label} ({mb:.1f} MB) | {mb / seconds:.1f} MB/s | — | target ≥ 5 MB/s |")
PY
}

mkdir -p "$TARGET_DIR/criterion"
run rust "$RUST_CORPUS" rust
run mixed "$MIXED_CORPUS" ""
threads=$(nproc)
row rust symbols-1-thread "parse + symbols, Rust, 1 thread"
row rust symbols-parallel "parse + symbols, Rust, $threads threads"
row mixed symbols-1-thread "parse + symbols, mixed languages, 1 thread"
row mixed symbols-parallel "parse + symbols, mixed languages, $threads threads"
cpu_row rust "parse + symbols, Rust, per CPU second of one thread"
cpu_row mixed "parse + symbols, mixed languages, per CPU second of one thread"
row rust chunks-parallel "parse + chunks, Rust, $threads threads"
row mixed chunks-parallel "parse + chunks, mixed languages, $threads threads"
