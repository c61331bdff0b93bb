"""Drives a running cuervo-proxy with the official Anthropic Python SDK.

Usage: python anthropic_client.py BASE_URL API_KEY MODEL

The proxy's upstream is the mock server speaking OpenAI's Chat Completions, scripted
(in order) with: a text answer "Hello, Anthropic client.", a text answer "Streamed
answer." and a tool call get_weather({"city": "Paris"}). Exits non-zero on any mismatch.
"""

import sys

import anthropic

base_url, api_key, model = sys.argv[1:4]
client = anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=0)

reply = client.messages.create(
    model=model,
    max_tokens=256,
    system="Be brief.",
    messages=[{"role": "user", "content": "Say hello"}],
)
assert reply.type == "message" and reply.role == "assistant", reply
assert reply.content[0].type == "text", reply
assert reply.content[0].text == "Hello, Anthropic client.", reply
assert reply.stop_reason == "end_turn", reply
assert reply.usage.output_tokens > 0, reply

with client.messages.stream(
    model=model,
    max_tokens=256,
    messages=[{"role": "user", "content": "Stream please"}],
) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
assert text == "Streamed answer.", text
assert final.stop_reason == "end_turn", final
assert final.usage.output_tokens > 0, final

reply = client.messages.create(
    model=model,
    max_tokens=256,
    tools=[
        {
            "name": "get_weather",
            "description": "The weather in a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ],
    messages=[{"role": "user", "content": "Weather in Paris?"}],
)
assert reply.stop_reason == "tool_use", reply
call = next(b for b in reply.content if b.type == "tool_use")
assert call.name == "get_weather" and call.input == {"city": "Paris"}, call

# Errors arrive as the SDK's typed exceptions.
try:
    client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("an unknown model was served")
except anthropic.NotFoundError:
    pass
bad = anthropic.Anthropic(base_url=base_url, api_key="sk-cuervo-wrong", max_retries=0)
try:
    bad.messages.create(model=model, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("a wrong key was accepted")
except anthropic.AuthenticationError:
    pass

print("anthropic sdk: ok")
