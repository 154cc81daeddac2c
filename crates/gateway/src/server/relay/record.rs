//! The end of a request: its outcome on the request's span and, through a channel send, in the ledger.

use std::time::{Duration, Instant};

use super::{Attempt, Ctx};
use crate::error::ApiError;
use crate::ledger::{AttemptRecord, Bodies, Record};
use crate::protocol::neutral::Usage;
use crate::telemetry::genai;

/// What happened to a request, for the ledger.
pub(super) struct Outcome {
    /// The target that answered, or (for a failure) the one tried last, as `provider/model`.
    pub(super) target: Option<String>,
    pub(super) provider_kind: Option<&'static str>,
    pub(super) attempts: Vec<Attempt>,
    pub(super) status: u16,
    pub(super) stream: bool,
    pub(super) usage: Option<Usage>,
    pub(super) cost_usd: Option<f64>,
    pub(super) first_byte: Option<Duration>,
    pub(super) error: Option<String>,
    /// The answer as the client received it, when request logging is on.
    pub(super) logged_response: Option<Vec<u8>>,
}

/// Hands the outcome to the ledger's writer (a channel send: the request path never waits on SQLite).
pub(super) fn record(ctx: &mut Ctx, outcome: Outcome) {
    let latency = ctx.started.elapsed();
    if let (Some(permit), Some(usage)) = (&ctx.permit, &outcome.usage) {
        permit.count_tokens(usage.input.saturating_add(usage.output), Instant::now());
    }
    tracing::debug!(app = %ctx.app.name, model = %ctx.client_model, target = ?outcome.target, status = outcome.status,
        latency_ms = latency.as_millis() as u64, error = ?outcome.error, "request finished");
    let answered_by = outcome.target.as_deref().zip(outcome.provider_kind);
    genai::answered(&ctx.span, &ctx.answering, answered_by, outcome.attempts.len(), outcome.usage.as_ref());
    if outcome.status < 400 && outcome.error.is_some() {
        // A stream that failed (or lost its client) after it had started: the status was 200 by then.
        genai::failed(&ctx.span, "stream_interrupted");
        genai::failed(&ctx.answering, "stream_interrupted");
    }
    // The answering attempt ends with the answer.
    ctx.answering = tracing::Span::none();
    let Some(ledger) = &ctx.ledger else { return };
    let (provider_id, model) = match outcome.target.as_deref().and_then(|t| t.split_once('/')) {
        Some((provider, model)) => (Some(provider.to_owned()), Some(model.to_owned())),
        None => (None, None),
    };
    let record = Record {
        ts_ms: ctx.started_ms,
        app_id: ctx.app.id,
        app_name: ctx.app.name.clone(),
        alias: ctx.alias.clone(),
        provider_id,
        provider_kind: outcome.provider_kind.map(str::to_owned),
        model,
        client_protocol: ctx.protocol,
        stream: outcome.stream,
        status: outcome.status,
        error: outcome.error,
        attempts: outcome
            .attempts
            .into_iter()
            .map(|a| AttemptRecord {
                target: a.target,
                result: a.result,
                elapsed_ms: a.elapsed.as_millis() as u64,
                failure: a.failure,
            })
            .collect(),
        usage: outcome.usage,
        provider_cost_usd: outcome.cost_usd,
        latency_ms: latency.as_millis() as u64,
        ttft_ms: outcome.first_byte.map(|d| d.as_millis() as u64),
        bodies: ctx.logs_bodies().then(|| {
            let mut truncated = false;
            let request = ctx.logged_request.as_deref().map(|text| Bodies::keep(text.as_bytes(), &mut truncated));
            let response = outcome.logged_response.as_deref().map(|bytes| Bodies::keep(bytes, &mut truncated));
            Box::new(Bodies { request, response, truncated })
        }),
        request_id: ctx.request_id.take(),
    };
    match ctx.receipt.take() {
        Some(receipt) => ledger.record_with_receipt(record, receipt),
        None => ledger.record(record),
    }
}

impl Outcome {
    /// A request refused before any attempt (a spent budget, a rate limit).
    pub(super) fn refused(error: &ApiError, stream: bool) -> Outcome {
        Outcome {
            target: None,
            provider_kind: None,
            attempts: Vec::new(),
            status: error.status.as_u16(),
            stream,
            usage: None,
            cost_usd: None,
            first_byte: None,
            error: Some(error.message.clone()),
            logged_response: None,
        }
    }
}
