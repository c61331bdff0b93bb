#!/usr/bin/env python3
"""Chat-template conformance fixture for cuervo-local: each template under
crates/local/tests/fixtures/templates/ rendered by Jinja2 the way Hugging Face
transformers renders chat templates, for a few conversations.

    ~/.cache/cuervo/llama-venv/bin/python scripts/gen-local-fixtures-templates.py

(any Python with jinja2 works). Writes crates/local/tests/fixtures/templates.json; the Rust
test renders the same inputs with minijinja and expects the same text, or an error where
Jinja2 raised one.

The templates are the published chat templates of the families (Qwen 2.5, Qwen 3,
Llama 3.1, Gemma, Phi-3), typed from their model cards; what matters here is that they use
the Jinja features real templates use (namespace, slicing with steps, string methods,
`is defined`/`is string`/`is iterable` tests, `raise_exception`, `tojson(indent=4)`,
whitespace control), and that both engines agree on them.
"""
import json
import pathlib

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = pathlib.Path(__file__).resolve().parent.parent
DIR = REPO / "crates/local/tests/fixtures/templates"
OUT = REPO / "crates/local/tests/fixtures/templates.json"

TEMPLATES = {
    "qwen2.5": ("", "<|im_end|>"),
    "qwen3": ("", "<|im_end|>"),
    "llama3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "gemma": ("<bos>", "<eos>"),
    "phi3": ("<s>", "<|endoftext|>"),
}

# Tools as cuervo's ToolSpec (name, description, input_schema); the schema's keys are
# sorted, as serde_json keeps them.
TOOLS = [
    {"name": "read_file", "description": "Read a file of the project.",
     "input_schema": {"properties": {"path": {"description": "Relative path.", "type": "string"}},
                      "required": ["path"], "type": "object"}},
    {"name": "bash", "description": "Run a shell command.",
     "input_schema": {"properties": {"command": {"type": "string"}, "timeout": {"type": "integer"}},
                      "required": ["command"], "type": "object"}},
]

# Conversations in the transformers message format, as cuervo-local builds them.
CONVERSATIONS = {
    "chat": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "  Hi there!  "},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a prime, café ☕."},
    ],
    "no_system": [
        {"role": "user", "content": "What is 2+2?"},
    ],
    "tools": [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Show me main.rs"},
        {"role": "assistant", "content": "Reading it.", "tool_calls": [
            {"type": "function", "id": "call_0",
             "function": {"name": "read_file", "arguments": {"path": "src/main.rs"}}}]},
        {"role": "tool", "tool_call_id": "call_0", "name": "read_file",
         "content": "fn main() {}"},
        {"role": "user", "content": "Thanks"},
    ],
    "thinking": [
        {"role": "user", "content": "Is 7 prime?"},
        {"role": "assistant", "content": "<think>\nIt has no divisors.\n</think>\n\nYes."},
        {"role": "user", "content": "And 9?"},
    ],
}


def hf_tool(spec):
    return {"type": "function", "function": {"name": spec["name"],
            "description": spec["description"], "parameters": spec["input_schema"]}}


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def main():
    env = environment()
    cases = []
    for name, (bos, eos) in TEMPLATES.items():
        source = (DIR / f"{name}.jinja").read_text()
        template = env.from_string(source)
        for conv_name, messages in CONVERSATIONS.items():
            for with_tools in (False, True):
                if with_tools and conv_name != "tools":
                    continue
                tools = TOOLS if with_tools else []
                kwargs = dict(messages=messages, add_generation_prompt=True,
                              bos_token=bos, eos_token=eos)
                if tools:
                    kwargs["tools"] = [hf_tool(t) for t in tools]
                case = {"template": name, "conversation": conv_name, "bos_token": bos,
                        "eos_token": eos, "messages": messages, "tools": tools}
                try:
                    case["expected"] = template.render(**kwargs)
                except jinja2.exceptions.TemplateError as e:
                    case["error"] = str(e)
                cases.append(case)
    OUT.write_text(json.dumps({"made_by": "scripts/gen-local-fixtures-templates.py",
                               "jinja2": jinja2.__version__, "cases": cases},
                              ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}: {len(cases)} cases, "
          f"{sum('error' in c for c in cases)} expected errors")


if __name__ == "__main__":
    main()
