"""Drives Switchboard with the official `google-genai` Python package, as a user's script (or Gemini CLI) would.

Environment: GEMINI_BASE_URL and GEMINI_API_KEY (the gateway's root and an app token), EXPECT_TEXT (the fake
upstream's reply to "hi" through the alias `general`). Every check runs twice: through `v1beta`, and through the
SDK's default API version (`v1`). Exits non-zero with the failing assertion on any mismatch.
"""

import os

from google import genai
from google.genai import errors, types

base = os.environ["GEMINI_BASE_URL"]
key = os.environ["GEMINI_API_KEY"]
expect = os.environ["EXPECT_TEXT"]

weather = types.FunctionDeclaration(
    name="get_weather",
    description="Weather for a city",
    parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
clock = types.FunctionDeclaration(
    name="get_time",
    description="Time in a zone",
    parameters=types.Schema(type="OBJECT", properties={"tz": types.Schema(type="STRING")}),
)
tools_config = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[weather, clock])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)

for version in ["v1beta", None]:
    options = types.HttpOptions(base_url=base, api_version=version) if version else types.HttpOptions(base_url=base)
    client = genai.Client(api_key=key, http_options=options)
    where = version or "the default version"

    # A plain generation, with Gemini's usage and finish reason.
    reply = client.models.generate_content(model="general", contents="hi")
    assert reply.text == expect, (where, reply)
    assert reply.candidates[0].finish_reason == types.FinishReason.STOP, (where, reply)
    usage = reply.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (12, 7, 19), usage
    assert usage.cached_content_token_count == 4, usage

    # A stream: pieces that add up, usage on the last chunk.
    chunks = list(client.models.generate_content_stream(model="general", contents="hi"))
    assert len(chunks) >= 2, (where, chunks)
    assert "".join(c.text or "" for c in chunks) == expect, (where, chunks)
    assert chunks[-1].usage_metadata.total_token_count == 19, chunks[-1]

    # Function calling: two declared functions called, then answered.
    question = types.Content(role="user", parts=[types.Part(text="weather and time?")])
    reply = client.models.generate_content(model="up/tools", contents=[question], config=tools_config)
    calls = reply.function_calls
    assert [c.name for c in calls] == ["get_weather", "get_time"], (where, reply)
    assert calls[0].args == {"city": "Paris"} and calls[1].args == {"tz": "CET"}, calls
    answers = types.Content(
        role="user",
        parts=[
            types.Part.from_function_response(name="get_weather", response={"output": "18 C and sunny"}),
            types.Part.from_function_response(name="get_time", response={"output": "14:05"}),
        ],
    )
    for part, call in zip(answers.parts, calls):
        part.function_response.id = call.id
    followed = client.models.generate_content(
        model="general", contents=[question, reply.candidates[0].content, answers], config=tools_config
    )
    assert followed.text and followed.text.startswith("Hello from"), (where, followed)

    # Counting, and the models the gateway offers.
    counted = client.models.count_tokens(model="general", contents="how many tokens is this?")
    assert counted.total_tokens and counted.total_tokens > 0, (where, counted)
    names = [m.name for m in client.models.list()]
    assert "models/general" in names and "models/up/chat-model" in names, (where, names)
    assert client.models.get(model="general").name == "models/general"

    # Errors arrive as the SDK's own exceptions, with Google's codes.
    try:
        client.models.generate_content(model="no-such-alias", contents="hi")
        raise AssertionError("an unknown model must fail")
    except errors.ClientError as error:
        assert error.code == 404 and error.status == "NOT_FOUND", error
        assert "general" in str(error), error
    # Held in a name: a client nothing refers to is closed before its request is sent.
    stranger = genai.Client(api_key="sb-wrong", http_options=options)
    try:
        stranger.models.generate_content(model="general", contents="hi")
        raise AssertionError("a wrong token must fail")
    except errors.ClientError as error:
        assert error.code == 401 and error.status == "UNAUTHENTICATED", error

print("google-genai sdk: all checks passed")
