//! What a Gemini client saw: whole `GenerateContentResponse`s and their streams (SSE), read into the shared outcome
//! and checked for well-formedness as they are read.

use super::*;

/// `usageMetadata`: the prompt's tokens include the cached ones; the output is the candidates' plus the thoughts'.
pub(super) fn gemini_usage(usage: &Value) -> Option<Tokens> {
    usage.is_object().then(|| {
        let output = u(&usage["candidatesTokenCount"]) + u(&usage["thoughtsTokenCount"]);
        assert_eq!(u(&usage["totalTokenCount"]), u(&usage["promptTokenCount"]) + output, "{usage}");
        Tokens {
            input: u(&usage["promptTokenCount"]),
            cached: u(&usage["cachedContentTokenCount"]),
            output,
            reasoning: usage["thoughtsTokenCount"].as_u64(),
        }
    })
}

/// One response's first candidate read into `outcome`; whether it carried a `finishReason`.
fn read_candidate(response: &Value, outcome: &mut Outcome, body: &str) -> bool {
    let candidates = response["candidates"].as_array().unwrap_or_else(|| panic!("candidates: {body}"));
    assert_eq!(candidates.len(), 1, "{body}");
    let candidate = &candidates[0];
    assert_eq!(candidate["index"].as_u64().unwrap_or(0), 0, "{body}");
    assert_eq!(candidate["content"]["role"], "model", "{body}");
    for part in candidate["content"]["parts"].as_array().unwrap_or_else(|| panic!("parts: {body}")) {
        outcome.parts.push(part.clone());
        if let Some(signature) = part["thoughtSignature"].as_str() {
            outcome.signature = Some(signature.to_owned());
        }
        if let Some(call) = part.get("functionCall") {
            assert!(call["args"].is_object(), "a call's args are an object: {body}");
            outcome.calls.push(Call {
                id: call["id"].as_str().unwrap_or_default().to_owned(),
                name: call["name"].as_str().expect("a function name").to_owned(),
                arguments: call["args"].to_string(),
                deltas: 1,
            });
        } else if let Some(text) = part["text"].as_str() {
            if part["thought"] == true {
                outcome.thinking.push_str(text);
            } else {
                outcome.text.push_str(text);
            }
        } else {
            assert!(part.get("thoughtSignature").is_some(), "an unknown part: {part}: {body}");
        }
    }
    match candidate["finishReason"].as_str() {
        Some(reason) => {
            outcome.stop = reason.to_owned();
            true
        }
        None => false,
    }
}

pub(super) fn gemini_whole(body: &Value) -> Outcome {
    let text = body.to_string();
    let mut outcome = Outcome::default();
    assert!(read_candidate(body, &mut outcome, &text), "a whole answer says why it finished: {body}");
    assert!(body["responseId"].as_str().is_some_and(|id| !id.is_empty()), "{body}");
    outcome.usage = gemini_usage(&body["usageMetadata"]);
    outcome
}

/// Unnamed events, each a whole `GenerateContentResponse`; the last says why it finished and carries the full usage,
/// or is an `{"error"}` chunk. Gemini has no `[DONE]`.
pub(super) fn gemini_stream(body: &str) -> Outcome {
    let normalized = body.replace("\r\n", "\n");
    let events = sse_events(&normalized);
    let mut outcome = Outcome::default();
    let mut finished = false;
    for (name, data) in &events {
        assert!(name.is_empty(), "Gemini's events are unnamed: {body}");
        assert!(!finished && outcome.error.is_none(), "nothing follows the last chunk: {body}");
        let chunk = parse(data, body);
        if let Some(error) = chunk.get("error") {
            assert!(error["code"].is_u64() && error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            outcome.error = Some(error["status"].as_str().expect("a status").to_owned());
            continue;
        }
        finished = read_candidate(&chunk, &mut outcome, body);
        if finished {
            outcome.usage = gemini_usage(&chunk["usageMetadata"]);
        }
    }
    assert!(finished || outcome.error.is_some(), "the stream finishes or reports an error: {body}");
    outcome
}
