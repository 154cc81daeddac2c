"""Drives Switchboard with the official `openai` Python package, as a user's script would.

Environment: OPENAI_BASE_URL and OPENAI_API_KEY (the gateway and an app token), EXPECT_TEXT (the fake upstream's
reply to "hi" through the alias `general`), WITH_EMBEDDINGS (1 when the upstream offers embeddings).
Exits non-zero with the failing assertion on any mismatch.
"""

import json
import os

import openai
from openai import OpenAI

client = OpenAI(max_retries=0, timeout=20)
expect = os.environ["EXPECT_TEXT"]
hi = [{"role": "user", "content": "hi"}]
tools = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}},
]

# A plain chat completion.
reply = client.chat.completions.create(model="general", messages=hi)
assert reply.choices[0].message.content == expect, reply
assert reply.choices[0].finish_reason == "stop", reply
assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (12, 7), reply.usage

# A stream with usage: text deltas, then one usage chunk with no choices.
chunks = list(client.chat.completions.create(model="general", messages=hi, stream=True, stream_options={"include_usage": True}))
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert text == expect, text
assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 19, chunks[-1]

# Tools, whole and streamed.
reply = client.chat.completions.create(model="up/tools", messages=[{"role": "user", "content": "weather?"}], tools=tools)
calls = reply.choices[0].message.tool_calls
assert [c.function.name for c in calls] == ["get_weather", "get_time"], calls
assert json.loads(calls[0].function.arguments) == {"city": "Paris"}, calls
assert reply.choices[0].finish_reason == "tool_calls", reply

arguments = {}
for chunk in client.chat.completions.create(model="up/tools", messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True):
    for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
        arguments[call.index] = arguments.get(call.index, "") + (call.function.arguments or "")
assert [json.loads(arguments[i]) for i in sorted(arguments)] == [{"city": "Paris"}, {"tz": "CET"}], arguments

# Embeddings, where the upstream offers them.
if os.environ.get("WITH_EMBEDDINGS") == "1":
    embedded = client.embeddings.create(model="up/text-embedding-3-small", input=["alpha", "beta"])
    assert len(embedded.data) == 2 and len(embedded.data[0].embedding) > 0, embedded
    assert embedded.data[0].embedding != embedded.data[1].embedding

# Errors arrive as the SDK's own exception types, with our message.
try:
    client.chat.completions.create(model="no-such-alias", messages=hi)
    raise AssertionError("an unknown model must fail")
except openai.NotFoundError as error:
    assert "general" in str(error), error
try:
    OpenAI(api_key="sb-wrong", max_retries=0).chat.completions.create(model="general", messages=hi)
    raise AssertionError("a wrong token must fail")
except openai.AuthenticationError:
    pass

print("openai sdk: all checks passed")
