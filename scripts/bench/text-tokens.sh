#!/usr/bin/env bash
# Benchmarks `cuervo tokens` (crates/text/src/tokens) against Python tiktoken, side by side
# in the same run, and `cuervo pii redact` (no peer). Prints markdown table rows:
#
#   | token counting cl100k | X MB/s | Y MB/s (tiktoken) | ratio |
#   | token counting o200k  | …
#   | PII redact            | X MB/s | — | — |
#
# What is timed: the WHOLE PROCESS on both sides (hyperfine medians of RUNS runs after a
# warm-up, warm cache): `cuervo tokens --encoding E FILE` against `python -c "import
# tiktoken; get_encoding(E); encode_ordinary(read(FILE))"`, both reading the same file and
# printing its count. So each side pays its start-up (cuervo ~20-40 ms to load the BPE
# tables; Python ~0.1-0.3 s for the interpreter, the import and the BPE file); the corpus
# is a few MB so that encoding dominates. Python's encode-only speed, measured inside
# the interpreter, is printed on stderr for reference. ratio = cuervo MB/s / tiktoken MB/s.
# Before timing, each row checks that both print the same token count, and fails otherwise.
#
# The corpus (BENCH_DIR, default /tmp/cuervo-bench/tokens.txt, outside the repository) is
# real source and prose from ~/.cargo/registry/src (Rust, C, JS, Python, TOML, Markdown),
# concatenated in a fixed order up to CORPUS_MB (default 8) MB; invalid UTF-8 files and files
# over 256 KB (generated tables) are skipped.
#
# Environment: CUERVO (binary; default: build $CARGO_TARGET_DIR/release/cuervo),
# CUERVO_TIKTOKEN_PYTHON (default: what scripts/setup-tiktoken prints), BENCH_DIR, RUNS
# (default 5), CORPUS_MB, SKIP_BUILD.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cuervo-bench}
RUNS=${RUNS:-5}
CORPUS_MB=${CORPUS_MB:-8}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CUERVO=${CUERVO:-$TARGET_DIR/release/cuervo}

log() { echo "$*" >&2; }

if ! command -v hyperfine >/dev/null; then
    log "installing hyperfine"
    apt-get install -y hyperfine >&2
fi
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building the release binary"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -p cuervo-cli >&2)
fi
[[ -x $CUERVO ]] || { log "no cuervo binary at $CUERVO"; exit 1; }
PY=${CUERVO_TIKTOKEN_PYTHON:-$("$ROOT/scripts/setup-tiktoken")}
mkdir -p "$BENCH_DIR"

CORPUS=$BENCH_DIR/tokens.txt
if [[ ! -s $CORPUS ]]; then
    log "building $CORPUS (${CORPUS_MB} MB)"
    python3 - "$CORPUS" "$CORPUS_MB" <<'PY'
import glob, os, sys
out, limit = sys.argv[1], int(sys.argv[2]) * 1_000_000
home = os.path.expanduser("~/.cargo/registry/src")
files = sorted(f for ext in ("rs", "c", "h", "js", "py", "toml", "md")
               for f in glob.glob(f"{home}/*/*/**/*.{ext}", recursive=True))
# Interleave kinds so a cut-off corpus still mixes code and prose.
by_ext = {}
for f in files:
    by_ext.setdefault(f.rsplit(".", 1)[1], []).append(f)
order = []
while any(by_ext.values()):
    for ext in sorted(by_ext):
        if by_ext[ext]:
            order.append(by_ext[ext].pop(0))
size = 0
with open(out, "w", encoding="utf-8", newline="") as w:
    for f in order:
        try:
            text = open(f, encoding="utf-8", newline="").read()
        except (UnicodeDecodeError, OSError):
            continue
        if len(text) > 256_000:  # generated tables, not representative
            continue
        w.write(text)
        size += len(text.encode())
        if size >= limit:
            break
PY
fi
BYTES=$(stat -c %s "$CORPUS")
log "corpus: $CORPUS, $BYTES bytes"

median_s() { # hyperfine JSON -> median seconds
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"
}
mbps() { python3 -c "print(f'{$BYTES / 1e6 / $1:.1f}')"; }

for enc in cl100k o200k; do
    ours=$("$CUERVO" tokens --encoding "${enc}_base" "$CORPUS" | awk '{print $1}')
    theirs=$("$PY" -c "import sys,tiktoken; print(len(tiktoken.get_encoding('${enc}_base').encode_ordinary(open(sys.argv[1], encoding='utf-8', newline='').read())))" "$CORPUS")
    if [[ $ours != "$theirs" ]]; then
        log "MISMATCH $enc: cuervo $ours, tiktoken $theirs"
        exit 1
    fi
    log "$enc: $ours tokens on both sides"
    "$PY" -c "
import sys, time, tiktoken
e = tiktoken.get_encoding('${enc}_base'); t = open(sys.argv[1], encoding='utf-8', newline='').read()
s = time.perf_counter(); e.encode_ordinary(t); d = time.perf_counter() - s
print(f'  tiktoken encode_ordinary alone (in-process): {len(t.encode())/1e6/d:.1f} MB/s', file=sys.stderr)" "$CORPUS"
    hyperfine --warmup 1 --runs "$RUNS" --style none --export-json "$BENCH_DIR/tok-$enc.json" \
        -n cuervo "'$CUERVO' tokens --encoding ${enc}_base '$CORPUS'" >/dev/null
    hyperfine --warmup 1 --runs "$RUNS" --style none --export-json "$BENCH_DIR/tik-$enc.json" \
        -n tiktoken "'$PY' -c \"import sys,tiktoken; print(len(tiktoken.get_encoding('${enc}_base').encode_ordinary(open(sys.argv[1], encoding='utf-8', newline='').read())))\" '$CORPUS'" >/dev/null
    a=$(median_s "$BENCH_DIR/tok-$enc.json"); b=$(median_s "$BENCH_DIR/tik-$enc.json")
    echo "| token counting $enc | $(mbps "$a") MB/s | $(mbps "$b") MB/s (tiktoken) | $(python3 -c "print(f'{$b / $a:.2f}x')") |"
done

"$CUERVO" pii redact "$CORPUS" >/dev/null || true # exit 1 when something was redacted
hyperfine --warmup 1 --runs "$RUNS" --style none -i --export-json "$BENCH_DIR/pii.json" \
    -n redact "'$CUERVO' pii redact '$CORPUS'" >/dev/null
c=$(median_s "$BENCH_DIR/pii.json")
found=$({ "$CUERVO" pii scan --json "$CORPUS" || true; } | tail -1)
log "pii on the corpus: $found"
echo "| PII redact | $(mbps "$c") MB/s | — | — |"
