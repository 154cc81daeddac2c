//! What a request must pass after its plan is made and before its first attempt: the spend budget and the rate
//! limits, both answered from memory (no SQLite, no lock held past the call).

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::{Ctx, X_BUDGET};
use crate::error::ApiError;
use crate::ledger::budgets::Verdict;
use crate::limits::Now;
use crate::routing::Target;

/// The spend budget's word on a request about to go to `plan`'s first target. Local models cost nothing and are
/// never blocked. Read from memory: no SQLite on the request path.
pub(super) fn budget_check(ctx: &Ctx, plan: &[Target]) -> Result<Option<HeaderValue>, ApiError> {
    let Some(ledger) = &ctx.ledger else { return Ok(None) };
    if plan.first().is_some_and(|t| crate::ledger::prices::is_local(t.provider.preset().id)) {
        return Ok(None);
    }
    match ledger.budget_verdict(ctx.app.id, crate::store::now_ms()) {
        Verdict::Ok => Ok(None),
        Verdict::Warn { budget, spent, limit } => {
            Ok(HeaderValue::from_str(&format!("warn; {budget}; spent={spent:.4}; limit={limit:.2}")).ok())
        }
        Verdict::Block { budget, spent, limit, resets_at_ms } => {
            let resets = resets_at_ms.saturating_sub(crate::store::now_ms()).max(0) / 1000;
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "insufficient_quota",
                format!(
                    "the {budget} is spent (${spent:.2} of ${limit:.2}); it resets in {}h{:02}m — raise it in Apps \
                     or Settings to continue now",
                    resets / 3600,
                    resets % 3600 / 60
                ),
            )
            .code("budget_exceeded");
            error.retry_after = HeaderValue::from_str(&resets.to_string()).ok().map(Box::new);
            Err(error)
        }
    }
}

/// The rate limits' word on a request about to be walked: the permit goes into `ctx`, or the 429 comes back. Apps
/// without limits (and without limits for all apps) pass at no cost. Read from memory; no lock is held past this call.
pub(super) fn admit(ctx: &mut Ctx, body: &Value) -> Result<(), ApiError> {
    if ctx.app.gate.is_open() {
        return Ok(());
    }
    let permit = ctx.app.gate.admit(body, Now::current())?;
    ctx.permit = Some(permit);
    Ok(())
}

/// `x-switchboard-budget` on an answer whose budget warned.
pub(super) fn with_budget_header(mut response: Response, warning: Option<HeaderValue>) -> Response {
    if let Some(warning) = warning {
        response.headers_mut().insert(X_BUDGET.clone(), warning);
    }
    response
}
