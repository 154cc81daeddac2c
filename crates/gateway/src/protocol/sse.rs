//! Writing server-sent events. (Reading them is `eventsource-stream`'s job, in the providers.)

use bytes::Bytes;

/// `data: <payload>\n\n`, optionally preceded by `event: <name>\n`.
pub fn frame(event: Option<&str>, data: &str) -> Bytes {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(name) = event {
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    // A payload with newlines becomes several data lines, which the reader joins back with '\n'.
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// OpenAI's end-of-stream marker.
pub fn done() -> Bytes {
    Bytes::from_static(b"data: [DONE]\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(frame(None, "{\"a\":1}"), "data: {\"a\":1}\n\n");
        assert_eq!(frame(Some("message_stop"), "{}"), "event: message_stop\ndata: {}\n\n");
        assert_eq!(frame(None, "a\nb"), "data: a\ndata: b\n\n");
    }
}
