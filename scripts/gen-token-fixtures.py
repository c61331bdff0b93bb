#!/usr/bin/env python3
"""Writes the expected token ids for the cuervo-text token tests, using Python tiktoken.

Inputs (committed):
  crates/text/tests/fixtures/tokens/corpus/**   real source files, docs and licences
  crates/text/tests/fixtures/tokens/cases.json  hand-written tricky strings
Output:
  crates/text/tests/fixtures/tokens/expected.json (or stdout with --stdout)

Each input is encoded with `encode_ordinary` (special-token text is ordinary text) in both
cl100k_base and o200k_base. Run it through the wrapper that scripts/setup-tiktoken prints:

    "$(scripts/setup-tiktoken)" scripts/gen-token-fixtures.py

The Rust test suite runs `--stdout` itself when CUERVO_TIKTOKEN_PYTHON points at that wrapper.
"""
import argparse
import json
import os
import sys

import tiktoken

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "text", "tests", "fixtures", "tokens")
ENCODINGS = ["cl100k_base", "o200k_base"]


def inputs():
    """(name, text) pairs in the order the Rust test reads them."""
    corpus = os.path.join(FIXTURES, "corpus")
    files = []
    for dirpath, _, names in os.walk(corpus):
        for name in names:
            path = os.path.join(dirpath, name)
            files.append(os.path.relpath(path, FIXTURES).replace(os.sep, "/"))
    for rel in sorted(files):
        with open(os.path.join(FIXTURES, rel), "rb") as f:
            yield rel, f.read().decode("utf-8")
    with open(os.path.join(FIXTURES, "cases.json"), encoding="utf-8") as f:
        for case in json.load(f):
            yield "case:" + case["name"], case["text"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    args = parser.parse_args()

    encoders = {name: tiktoken.get_encoding(name) for name in ENCODINGS}
    lines = []
    for name, text in inputs():
        for enc_name in ENCODINGS:
            ids = encoders[enc_name].encode_ordinary(text)
            entry = {"name": name, "encoding": enc_name, "count": len(ids), "ids": ids}
            lines.append(json.dumps(entry, separators=(",", ":")))
    header = json.dumps({"tiktoken": tiktoken.__version__, "entries": len(lines)})
    # One entry per line keeps diffs readable: a header line, then JSON Lines.
    out = header + "\n" + "\n".join(lines) + "\n"
    if args.stdout:
        sys.stdout.write(out)
    else:
        path = os.path.join(FIXTURES, "expected.jsonl")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(out)
        print(f"wrote {len(lines)} entries to {os.path.relpath(path, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
