//! What the three protocols share on the wire: JSON that keeps its keys in the order the providers write them, SSE
//! frames, and bodies that misbehave on purpose (stall, drop, malformed line, truncated JSON).

use std::io;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, BoxStream, StreamExt};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use tokio::sync::watch;

use super::script::{Delivery, PACE};

/// A JSON value whose object keys keep the order they were written in (serde_json's own map sorts them), so the
/// fakes' bytes read like the providers' documented examples.
#[derive(Clone, Debug)]
pub(crate) enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
    /// A value taken as-is (e.g. tool arguments); its own keys are sorted by serde_json.
    Val(Value),
}

/// `obj! { "id": id, "object": "list" }`: an ordered JSON object.
macro_rules! obj {
    ($($key:literal : $value:expr),* $(,)?) => {
        $crate::fake::wire::J::Obj(vec![$(($key, $crate::fake::wire::J::from($value))),*])
    };
}
pub(crate) use obj;

impl J {
    pub(crate) fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).expect("a J value always serializes"))
    }

    /// Appends a key to an object; does nothing to other values.
    pub(crate) fn push(&mut self, key: &'static str, value: impl Into<J>) {
        if let J::Obj(fields) = self {
            fields.push((key, value.into()));
        }
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => serializer.serialize_unit(),
            J::Bool(b) => serializer.serialize_bool(*b),
            J::Int(n) => serializer.serialize_i64(*n),
            J::Float(x) => serializer.serialize_f32(*x),
            J::Str(s) => serializer.serialize_str(s),
            J::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            J::Val(value) => value.serialize(serializer),
        }
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_owned())
    }
}

impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}

impl From<&String> for J {
    fn from(s: &String) -> J {
        J::Str(s.clone())
    }
}

impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}

impl From<u32> for J {
    fn from(n: u32) -> J {
        J::Int(n.into())
    }
}

impl From<i64> for J {
    fn from(n: i64) -> J {
        J::Int(n)
    }
}

impl From<usize> for J {
    fn from(n: usize) -> J {
        J::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<f32> for J {
    fn from(x: f32) -> J {
        J::Float(x)
    }
}

impl From<Vec<J>> for J {
    fn from(items: Vec<J>) -> J {
        J::Arr(items)
    }
}

impl From<Value> for J {
    fn from(value: Value) -> J {
        J::Val(value)
    }
}

impl<T: Into<J>> From<Option<T>> for J {
    fn from(value: Option<T>) -> J {
        value.map_or(J::Null, Into::into)
    }
}

/// One SSE event as bytes; `content` marks the frames that carry generated text or arguments, which is what the
/// stall/drop/malformed faults count.
pub(crate) struct Frame {
    pub bytes: Bytes,
    pub content: bool,
}

impl Frame {
    pub(crate) fn new(bytes: impl Into<Bytes>, content: bool) -> Frame {
        Frame { bytes: bytes.into(), content }
    }
}

/// How a protocol frames SSE: its content type, the line that breaks the JSON, and the in-band error it ends a
/// failed generation with, given how many events came before it (a Responses event carries that as its number).
pub(crate) struct SseStyle {
    pub content_type: &'static str,
    pub malformed: &'static str,
    pub failure: fn(usize) -> String,
}

type Chunks = BoxStream<'static, io::Result<Bytes>>;

/// A 200 event stream of `frames`, spoiled as `delivery` says.
pub(crate) fn sse(
    style: &SseStyle,
    frames: Vec<Frame>,
    delivery: Delivery,
    shutdown: watch::Receiver<bool>,
) -> Response {
    let chunks: Chunks = match delivery {
        Delivery::Normal | Delivery::SlowFirstByte => stream::iter(frames.into_iter().map(|f| Ok(f.bytes))).boxed(),
        Delivery::MalformedSse => {
            let split = after_content_frames(&frames, 1);
            let mut bytes: Vec<Bytes> = frames.into_iter().map(|f| f.bytes).collect();
            bytes.insert(split, Bytes::from_static(style.malformed.as_bytes()));
            stream::iter(bytes.into_iter().map(Ok)).boxed()
        }
        Delivery::StallMidStream => {
            let kept = head(frames, 2);
            stream::iter(kept.into_iter().map(Ok)).chain(stream::once(stall_then_fail(shutdown))).boxed()
        }
        Delivery::DropMidStream => {
            let kept = head(frames, 2);
            stream::iter(kept.into_iter().map(Ok)).chain(stream::once(fail_soon())).boxed()
        }
        Delivery::FailMidStream => {
            let mut kept = head(frames, 2);
            kept.push(Bytes::from((style.failure)(kept.len())));
            stream::iter(kept.into_iter().map(Ok)).boxed()
        }
        Delivery::Paced => stream::iter(frames)
            .then(|frame| async move {
                tokio::time::sleep(PACE).await;
                Ok(frame.bytes)
            })
            .boxed(),
    };
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(style.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A JSON response with `status`, spoiled as `delivery` says: a stall never answers (until the fake stops), a drop
/// sends half the body and then breaks the connection. Slow first byte is the caller's sleep; malformed SSE does not
/// apply to a plain body.
pub(crate) async fn json(
    status: StatusCode,
    value: &J,
    delivery: Delivery,
    shutdown: watch::Receiver<bool>,
) -> Response {
    let bytes = value.to_bytes();
    let body = match delivery {
        Delivery::StallMidStream => {
            until_shutdown(shutdown).await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Delivery::DropMidStream => {
            let half = bytes.slice(..bytes.len() / 2);
            Body::from_stream(stream::once(async move { Ok(half) }).chain(stream::once(fail_soon())))
        }
        Delivery::Normal
        | Delivery::SlowFirstByte
        | Delivery::MalformedSse
        | Delivery::FailMidStream
        | Delivery::Paced => Body::from(bytes),
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `200`, `content-type: application/json`, and HTML: what a misconfigured proxy in front of a provider sends.
pub(crate) fn garbage() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], "<html>oops</html>").into_response()
}

/// Resolves when the fake shuts down (or at once when nothing can shut it down any more).
pub(crate) async fn until_shutdown(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Where the `n`th content frame ends (or before the last frame, so a terminator is always withheld).
pub(crate) fn after_content_frames(frames: &[Frame], n: usize) -> usize {
    let last = frames.len().saturating_sub(1);
    frames
        .iter()
        .enumerate()
        .filter(|(_, frame)| frame.content)
        .nth(n - 1)
        .map_or(last, |(index, _)| (index + 1).min(last))
}

fn head(frames: Vec<Frame>, content_frames: usize) -> Vec<Bytes> {
    let cut = after_content_frames(&frames, content_frames);
    frames.into_iter().take(cut).map(|f| f.bytes).collect()
}

async fn stall_then_fail(shutdown: watch::Receiver<bool>) -> io::Result<Bytes> {
    until_shutdown(shutdown).await;
    Err(io::Error::other("fake upstream stopped while stalling"))
}

/// Fails the body a moment later, after hyper has flushed what came before, so the client sees the first chunks and
/// then a broken connection rather than nothing.
async fn fail_soon() -> io::Result<Bytes> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    Err(io::Error::other("fake upstream drops the stream mid-way"))
}
