//! Carrying a started stream to the client: a task reads the upstream (with the idle and total limits), writes the
//! client's body through a small channel, stops the moment the client leaves, and always ends the stream
//! well-formed, with an in-band error event when the upstream failed part-way.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};
use tokio::sync::mpsc;

use super::walk::error_chain;
use super::wire::{Client, Encoder, EventSplitter, Watch};
use super::{Attempt, Ctx, Outcome, record};
use crate::config::Timeouts;
use crate::protocol::neutral::{StreamEvent, Usage};
use crate::protocol::{self, Protocol, SseEvent};
use crate::routing::Target;

/// How many encoded chunks may wait for a slow client before the relay stops reading the upstream.
const STREAM_BUFFER: usize = 32;

/// The task that carries a started stream to the client.
pub(super) struct StreamRelay {
    pub ctx: Ctx,
    pub target: Target,
    pub attempts: Vec<Attempt>,
    pub timeouts: Timeouts,
    pub client: Client,
}

/// What the upstream stream did next, with the idle and total limits applied.
enum Step {
    Chunk(Bytes),
    End,
    Broken(String),
    ClientGone,
}

impl StreamRelay {
    /// The next upstream chunk, or why there is none.
    async fn next(
        &self,
        upstream: &mut BoxStream<'static, reqwest::Result<Bytes>>,
        tx: &mpsc::Sender<Bytes>,
        deadline: Instant,
    ) -> Step {
        let idle = Duration::from_secs_f64(self.timeouts.idle);
        tokio::select! {
            item = tokio::time::timeout(idle, upstream.next()) => match item {
                Ok(Some(Ok(chunk))) => Step::Chunk(chunk),
                Ok(Some(Err(e))) => Step::Broken(format!("the stream broke: {}", self.target.provider.redact(&error_chain(&e)))),
                Ok(None) => Step::End,
                Err(_) => Step::Broken(format!("the upstream sent nothing for {}s", self.timeouts.idle)),
            },
            () = tokio::time::sleep_until(deadline.into()) => {
                Step::Broken(format!("the request reached its {}s limit", self.timeouts.total))
            }
            () = tx.closed() => Step::ClientGone,
        }
    }

    /// Same protocol: SSE events go out byte for byte (garbage ends the stream with an error event).
    pub(super) fn passthrough(
        mut self,
        first: Bytes,
        rest: BoxStream<'static, reqwest::Result<Bytes>>,
        strip_usage: bool,
    ) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        tokio::spawn(async move {
            let deadline = self.ctx.started + Duration::from_secs_f64(self.timeouts.total);
            let first_byte = Some(self.ctx.started.elapsed());
            let mut upstream = rest;
            let mut splitter = EventSplitter::default();
            let mut watch = Watch::new(self.client, strip_usage);
            let mut error = None;
            let mut client_gone = false;
            let mut log = BodyLog::new(self.ctx.logs_bodies());
            let mut pending = Some(first);
            'relay: loop {
                let chunk = match pending.take() {
                    Some(chunk) => chunk,
                    None => match self.next(&mut upstream, &tx, deadline).await {
                        Step::Chunk(chunk) => chunk,
                        Step::End => break,
                        Step::Broken(message) => {
                            error = Some(message);
                            break;
                        }
                        Step::ClientGone => {
                            client_gone = true;
                            break;
                        }
                    },
                };
                for event in splitter.push(&chunk) {
                    match watch.inspect(&event) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(message) => {
                            error = Some(message);
                            break 'relay;
                        }
                    }
                    log.push(&event);
                    if tx.send(event).await.is_err() {
                        client_gone = true;
                        break 'relay;
                    }
                }
            }
            if !client_gone && !watch.done {
                // The upstream ended without its terminator: tell the client in-band, then end the stream properly.
                let message = error.clone().unwrap_or_else(|| "the upstream ended the stream early".to_owned());
                for event in watch.broken(&self.target.provider.redact(&message)) {
                    log.push(&event);
                    let _ = tx.send(event).await;
                }
                error.get_or_insert(message);
            }
            if client_gone {
                error = Some("the client went away".into());
            }
            // An upstream that ended its own stream with an error (Responses' `response.failed`) is recorded so.
            let error = error.or_else(|| watch.failed.take());
            self.finish(watch.usage, first_byte, error, log.take());
        });
        sse_response(rx)
    }

    /// Across protocols: upstream events → neutral events → the client's SSE.
    pub(super) fn translate(
        mut self,
        first: Bytes,
        rest: BoxStream<'static, reqwest::Result<Bytes>>,
        upstream_protocol: Protocol,
        include_usage: bool,
    ) -> Response {
        let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
        tokio::spawn(async move {
            let deadline = self.ctx.started + Duration::from_secs_f64(self.timeouts.total);
            let first_byte = Some(self.ctx.started.elapsed());
            let idle = Duration::from_secs_f64(self.timeouts.idle);
            let provider = self.target.provider.clone();
            // The upstream's bytes with the idle limit applied, parsed into SSE events.
            let chunks = stream::unfold((rest, Some(first)), move |(mut rest, first)| {
                let provider = provider.clone();
                async move {
                    if let Some(first) = first {
                        return Some((Ok(first), (rest, None)));
                    }
                    let item = match tokio::time::timeout(idle, rest.next()).await {
                        Ok(None) => return None,
                        Ok(Some(Ok(chunk))) => Ok(chunk),
                        Ok(Some(Err(e))) => Err(std::io::Error::other(provider.redact(&error_chain(&e)))),
                        Err(_) => {
                            Err(std::io::Error::other(format!("the upstream sent nothing for {}s", idle.as_secs_f64())))
                        }
                    };
                    Some((item, (rest, None)))
                }
            });
            let mut events = chunks.boxed().eventsource();
            let mut decoder = protocol::StreamDecoder::new(upstream_protocol);
            let mut encoder = Encoder::new(self.client, include_usage);
            let mut usage = None;
            let mut error = None;
            let mut client_gone = false;
            let mut log = BodyLog::new(self.ctx.logs_bodies());
            'relay: loop {
                let item = tokio::select! {
                    item = events.next() => item,
                    () = tokio::time::sleep_until(deadline.into()) => {
                        let message = format!("the request reached its {}s limit", self.timeouts.total);
                        Some(Err(eventsource_stream::EventStreamError::Transport(std::io::Error::other(message))))
                    }
                    () = tx.closed() => { client_gone = true; break 'relay; }
                };
                let (out, over) = match item {
                    Some(Ok(event)) => {
                        let event = SseEvent {
                            event: Some(event.event).filter(|n| !n.is_empty() && n != "message"),
                            data: event.data,
                        };
                        match decoder.decode(&event) {
                            Ok(decoded) => (decoded, false),
                            Err(e) => {
                                (vec![broke(&mut error, format!("the upstream sent an unreadable event: {e}"))], true)
                            }
                        }
                    }
                    Some(Err(e)) => (vec![broke(&mut error, format!("the upstream stream broke: {e}"))], true),
                    None => (decoder.finish(), true),
                };
                for event in &out {
                    match event {
                        StreamEvent::Usage { usage: u, cost_usd } => usage = Some((*u, *cost_usd)),
                        StreamEvent::Error { message, .. } => {
                            error.get_or_insert_with(|| message.clone());
                        }
                        _ => {}
                    }
                    for frame in encoder.encode(event) {
                        log.push(&frame);
                        if tx.send(frame).await.is_err() {
                            client_gone = true;
                            break 'relay;
                        }
                    }
                }
                if over || error.is_some() {
                    break;
                }
            }
            if usage.is_none() && (error.is_some() || client_gone) {
                // A broken stream still cost the prompt: the ledger records what the upstream reported so far.
                usage = decoder.usage_so_far().map(|u| (u, None));
            }
            if client_gone {
                error = Some("the client went away".into());
            } else {
                for frame in encoder.finish() {
                    log.push(&frame);
                    let _ = tx.send(frame).await;
                }
            }
            self.finish(usage, first_byte, error, log.take());
        });
        sse_response(rx)
    }

    fn finish(
        &mut self,
        usage: Option<(Usage, Option<f64>)>,
        first_byte: Option<Duration>,
        error: Option<String>,
        logged_response: Option<Vec<u8>>,
    ) {
        record(
            &mut self.ctx,
            Outcome {
                target: Some(self.target.label()),
                provider_kind: Some(self.target.provider.preset().id),
                attempts: self.attempts.clone(),
                status: 200,
                stream: true,
                usage: usage.map(|u| u.0),
                cost_usd: usage.and_then(|u| u.1),
                first_byte,
                error,
                logged_response,
            },
        );
    }
}

/// The stream as the client received it, for request logging: nothing when logging is off, and never more than
/// one byte past the ledger's bound (the ledger cuts and marks it).
struct BodyLog(Option<Vec<u8>>);

impl BodyLog {
    fn new(on: bool) -> BodyLog {
        BodyLog(on.then(Vec::new))
    }

    fn push(&mut self, bytes: &[u8]) {
        if let Some(log) = &mut self.0 {
            let room = (crate::ledger::MAX_LOGGED_BODY + 1).saturating_sub(log.len());
            log.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    fn take(&mut self) -> Option<Vec<u8>> {
        self.0.take()
    }
}

/// Notes the failure and makes the in-band error event the client will see.
pub(super) fn broke(error: &mut Option<String>, message: String) -> StreamEvent {
    *error = Some(message.clone());
    StreamEvent::Error { message, kind: "upstream_error".into() }
}

pub(super) fn sse_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let mut rx = rx;
    let stream = stream::poll_fn(move |cx| rx.poll_recv(cx).map(|b| b.map(Ok::<_, std::io::Error>)));
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
