//! Just enough of the W3C WebDriver protocol to drive the app's Chat page for the footprint: a session on
//! WebKitWebDriver (which launches the app itself), finding elements by CSS, typing, clicking and running scripts.
//! Plain HTTP/1.1 over a socket with serde_json: the e2e tests' WebDriver client (fantoccini) would pull tokio and
//! hyper into the xtask for a dozen calls.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The key WebDriver's "element reference" is stored under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// WebDriver's code for the Enter key.
pub(super) const ENTER: char = '\u{E007}';

pub(super) struct Session {
    addr: SocketAddr,
    id: String,
}

impl Session {
    /// Opens a session on the driver at `addr`, waiting up to `limit` for it to listen; the driver starts the
    /// browser (here: the app) as `capabilities` say.
    pub(super) fn start(addr: SocketAddr, capabilities: &Value, limit: Duration) -> Result<Session> {
        let started = Instant::now();
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let reply = loop {
            match call(addr, "POST", "/session", Some(&body)) {
                Ok(reply) => break reply,
                Err(error) if started.elapsed() < limit && is_not_listening(&error) => {
                    thread::sleep(Duration::from_millis(50));
                }
                Err(error) => return Err(error.context("could not open a WebDriver session")),
            }
        };
        let id = reply["sessionId"].as_str().context("the new session has no sessionId")?.to_owned();
        Ok(Session { addr, id })
    }

    /// The first element matching `css`, waiting up to 20 s for it to appear.
    pub(super) fn find(&self, css: &str) -> Result<String> {
        let body = json!({ "using": "css selector", "value": css });
        let started = Instant::now();
        loop {
            match self.post("element", &body) {
                Ok(found) => return found[ELEMENT].as_str().map(str::to_owned).context("no element reference"),
                Err(_) if started.elapsed() < Duration::from_secs(20) => thread::sleep(Duration::from_millis(100)),
                Err(error) => return Err(error.context(format!("no element {css}"))),
            }
        }
    }

    pub(super) fn click(&self, element: &str) -> Result<()> {
        self.post(&format!("element/{element}/click"), &json!({})).map(drop)
    }

    pub(super) fn clear(&self, element: &str) -> Result<()> {
        self.post(&format!("element/{element}/clear"), &json!({})).map(drop)
    }

    pub(super) fn type_text(&self, element: &str, text: &str) -> Result<()> {
        self.post(&format!("element/{element}/value"), &json!({ "text": text })).map(drop)
    }

    /// Runs `script` in the page until `ready` accepts what it returns, for up to `limit`.
    pub(super) fn until(
        &self,
        what: &str,
        script: &str,
        limit: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let started = Instant::now();
        let body = json!({ "script": script, "args": [] });
        loop {
            let value = self.post("execute/sync", &body)?;
            if ready(&value) {
                return Ok(value);
            }
            if started.elapsed() > limit {
                bail!("timed out after {}s waiting for {what}; last: {value}", limit.as_secs());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn post(&self, command: &str, body: &Value) -> Result<Value> {
        call(self.addr, "POST", &format!("/session/{}/{command}", self.id), Some(body))
    }
}

impl Drop for Session {
    /// Ends the session: the driver closes the app.
    fn drop(&mut self) {
        let _ = call(self.addr, "DELETE", &format!("/session/{}", self.id), None);
    }
}

fn is_not_listening(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// One WebDriver command: its `value`, or its error said.
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr)?;
    // Opening a session starts the app; nothing else takes long.
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, payload) = text.split_once("\r\n\r\n").context("the driver's answer has no body")?;
    let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(payload)?
    } else {
        payload.into()
    };
    let reply: Value = serde_json::from_str(&payload)
        .with_context(|| format!("the driver answered {method} {path} with {payload:?}"))?;
    let value = reply.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        bail!("{method} {path}: {error}: {}", value["message"].as_str().unwrap_or(""));
    }
    Ok(value)
}

/// A chunked body's chunks, joined.
fn dechunk(mut body: &str) -> Result<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").context("a chunk without its size line")?;
        let size = usize::from_str_radix(size.trim(), 16).context("a chunk size that is not hex")?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(rest.get(..size).context("a chunk shorter than its size")?);
        body = rest.get(size + 2..).context("a chunk without its ending")?;
    }
}

#[cfg(test)]
mod tests {
    use super::dechunk;

    #[test]
    fn joins_chunks() {
        assert_eq!(dechunk("4\r\n{\"va\r\n6\r\nlue\":1\r\n1\r\n}\r\n0\r\n\r\n").unwrap(), "{\"value\":1}");
        assert!(dechunk("zz\r\nabc").is_err());
    }
}
