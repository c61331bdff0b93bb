"""Drives a running cuervo-proxy with the official OpenAI Python SDK.

Usage: python openai_client.py BASE_URL API_KEY MODEL EMBED_MODEL EXPECTED_VECTOR_JSON

The proxy's upstream is the mock server, scripted (in order) with: a text answer
"Hello from the SDK.", a text answer "Streamed answer." and a tool call
get_weather({"city": "Paris"}). Exits non-zero (with the assertion) on any mismatch.
"""

import base64
import json
import struct
import sys

import openai

base_url, api_key, model, embed_model, expected_vector = sys.argv[1:6]
expected_vector = json.loads(expected_vector)
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)

models = [m.id for m in client.models.list()]
assert model in models, models

reply = client.chat.completions.create(
    model=model,
    messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ],
)
assert reply.choices[0].message.content == "Hello from the SDK.", reply
assert reply.choices[0].finish_reason == "stop", reply
assert reply.usage is not None and reply.usage.total_tokens > 0, reply

stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Stream please"}],
    stream=True,
    stream_options={"include_usage": True},
)
text, finish, usage = "", None, None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage is not None:
        usage = chunk.usage
assert text == "Streamed answer.", text
assert finish == "stop", finish
assert usage is not None and usage.completion_tokens > 0, usage

tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
reply = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Weather in Paris?"}],
    tools=tools,
)
choice = reply.choices[0]
assert choice.finish_reason == "tool_calls", reply
call = choice.message.tool_calls[0]
assert call.function.name == "get_weather", call
assert json.loads(call.function.arguments) == {"city": "Paris"}, call

# Embeddings. Unasked, the SDK requests base64 and decodes it itself; asked for base64,
# it hands the string back; asked for floats, it gets a list.
def close(got):
    return len(got) == len(expected_vector) and all(
        abs(a - b) < 1e-6 for a, b in zip(got, expected_vector)
    )

default = client.embeddings.create(model=embed_model, input="hello world")
assert close(default.data[0].embedding), default.data[0].embedding[:4]
floats = client.embeddings.create(model=embed_model, input=["hello world"], encoding_format="float")
assert close(floats.data[0].embedding)
raw = client.embeddings.create(model=embed_model, input=["hello world"], encoding_format="base64")
packed = base64.b64decode(raw.data[0].embedding)
assert close(list(struct.unpack("<%df" % (len(packed) // 4), packed)))

# Errors arrive as the SDK's typed exceptions.
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown model was served")
except openai.NotFoundError:
    pass
bad = openai.OpenAI(base_url=base_url, api_key="sk-cuervo-wrong", max_retries=0)
try:
    bad.models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError:
    pass

print("openai sdk: ok")
