#!/usr/bin/env bash
# Benchmarks `cuervo files` and `cuervo grep` (crates/text/src/scan) against ripgrep, side
# by side in the same run, and prints one markdown table row per task:
#
#   | task | cuervo | peer | ratio |
#
# Times are hyperfine medians of 5 runs after a warm-up (warm cache); ratio = cuervo / peer,
# of the wall-clock medians, then of the mean CPU time (user + system), which a busy
# machine disturbs less.
# Before timing, each row checks that both tools print the same number of lines (and says
# whether the sorted outputs are identical), and fails otherwise.
#
# Corpora live outside the repository (BENCH_DIR, default /tmp/cuervo-bench):
#   - tree100k: a generated tree of 100,000 files (plus an ignored directory) in a git
#     repository, so both tools apply its .gitignore;
#   - linux-source-6.1: Debian's kernel source tarball, unpacked once. Its ignore files
#     apply differently inside and outside git, so both tools run with --no-ignore.
#
# Environment: CUERVO (binary; default: build target/release/cuervo), RG (default: rg),
# BENCH_DIR, RUNS (default 5).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cuervo-bench}
RUNS=${RUNS:-5}
RG=${RG:-rg}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CUERVO=${CUERVO:-$TARGET_DIR/release/cuervo}

log() { echo "$*" >&2; }

if ! command -v hyperfine >/dev/null || ! command -v "$RG" >/dev/null; then
    log "installing hyperfine and ripgrep"
    apt-get install -y hyperfine ripgrep >&2
fi
if [[ -z ${SKIP_BUILD:-} ]]; then
    log "building the release binary"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release -p cuervo-cli >&2)
fi
[[ -x $CUERVO ]] || { log "no cuervo binary at $CUERVO"; exit 1; }
mkdir -p "$BENCH_DIR"

TREE=$BENCH_DIR/tree100k
if [[ ! -f $TREE/.done ]]; then
    log "generating $TREE"
    rm -rf "$TREE"
    python3 - "$TREE" <<'EOF'
import os, sys
root = sys.argv[1]
exts = ["rs", "py", "md", "txt", "json"]
n = 0
for a in range(20):
    for b in range(50):
        d = os.path.join(root, f"pkg{a:02}", f"mod{b:02}")
        os.makedirs(d)
        for c in range(100):
            with open(os.path.join(d, f"file{c:03}.{exts[c % 5]}"), "w") as f:
                f.write(f"item {n}\n")
            n += 1
ign = os.path.join(root, "build", "out")
os.makedirs(ign)
for c in range(1000):
    open(os.path.join(ign, f"gen{c}.rs"), "w").close()
with open(os.path.join(root, ".gitignore"), "w") as f:
    f.write("build/\n")
EOF
    git -C "$TREE" init -q
    touch "$TREE/.done"
fi

KERNEL=$BENCH_DIR/linux-source-6.1
if [[ ! -f $KERNEL/.done ]]; then
    TARBALL=/usr/src/linux-source-6.1.tar.xz
    [[ -f $TARBALL ]] || apt-get install -y linux-source-6.1 >&2
    log "unpacking $TARBALL"
    rm -rf "$KERNEL"
    tar -C "$BENCH_DIR" -xf "$TARBALL"
    touch "$KERNEL/.done"
fi

# bench TASK DIR CUERVO_ARGS RG_ARGS
bench() {
    local task=$1 dir=$2 cargs=$3 rargs=$4
    local cout=$BENCH_DIR/out.cuervo rout=$BENCH_DIR/out.rg json=$BENCH_DIR/bench.json
    cd "$dir"
    # Not timed: the same lines on both sides?
    eval "$CUERVO $cargs" >"$cout" || [[ $? == 1 ]]
    eval "$RG $rargs" >"$rout" || [[ $? == 1 ]]
    local cn rn same
    cn=$(wc -l <"$cout")
    rn=$(wc -l <"$rout")
    if [[ $cn != "$rn" ]]; then
        log "MISMATCH in '$task': cuervo printed $cn lines, rg $rn"
        diff <(sort "$cout") <(sort "$rout") | head -20 >&2
        exit 1
    fi
    if cmp -s <(LC_ALL=C sort "$cout") <(LC_ALL=C sort "$rout"); then same=identical; else same=different; fi
    log "$task: $cn lines each (sorted output $same)"
    hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$json" \
        "$CUERVO $cargs > $cout" "$RG $rargs > $rout" >&2
    python3 - "$json" "$task ($cn lines)" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
c, p = r[0]["median"], r[1]["median"]
cpu = lambda x: x["user"] + x["system"]
print(f"| {sys.argv[2]} | {c * 1000:.0f} ms | {p * 1000:.0f} ms | {c / p:.2f}× "
      f"(CPU time {cpu(r[0]) / cpu(r[1]):.2f}×) |")
EOF
}

RGV=$("$RG" --version | sed -n 1p)
echo "| task | cuervo | peer ($RGV) | ratio |"
echo "|---|---|---|---|"
bench "walk 100k-file tree: \`files\` vs \`rg --files\`" "$TREE" "files" "--files"
bench "walk + glob 100k-file tree: \`files '*.rs'\` vs \`rg --files -g '*.rs'\`" "$TREE" \
    "files '*.rs'" "--files -g '*.rs'"
bench "kernel literal: \`grep -n PM_RESUME\`" "$KERNEL" \
    "grep -n --no-ignore PM_RESUME" "-n --no-ignore PM_RESUME"
bench "kernel regex: \`grep -n '[A-Z]+_SUSPEND'\`" "$KERNEL" \
    "grep -n --no-ignore '[A-Z]+_SUSPEND'" "-n --no-ignore '[A-Z]+_SUSPEND'"
bench "kernel word, any case: \`grep -n -i -w socket\`" "$KERNEL" \
    "grep -n --no-ignore -i -w socket" "-n --no-ignore -i -w socket"
