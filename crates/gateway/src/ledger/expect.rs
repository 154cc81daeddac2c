//! Rows awaited by request id: how a request sent over real HTTP (the window's Test and Check of a client) finds
//! its own ledger row, whatever else the same app sends at the same time.
//!
//! The sender picks a unique `x-request-id` and registers it with [`Ledger::expect`] *before* sending. The server's
//! request-id layer keeps an id the client sent, the relay copies it into the [`Record`](super::Record) — only while
//! something is expected, which the request path learns from one atomic load — and the writer, after each batch,
//! answers the expectation of every written row that carries a registered id with that row's id. Nothing on the
//! request path takes a lock or touches SQLite: the map is locked by the writer and by those who register.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::Ledger;

/// A registration's number (so a replaced one cannot withdraw its successor) and who awaits the row.
type Registration = (u64, oneshot::Sender<i64>);

/// The ids awaited and who awaits each.
#[derive(Default)]
pub(super) struct Expected {
    /// How many ids are registered: read on the request path, so a request copies its id only when some are.
    count: AtomicUsize,
    /// By request id.
    waiting: Mutex<HashMap<Box<str>, Registration>>,
    next: AtomicU64,
}

impl Expected {
    pub(super) fn any(&self) -> bool {
        self.count.load(Ordering::SeqCst) > 0
    }

    /// Answers the expectations of written rows: `(request id, row id)` pairs. Called by the writer.
    pub(super) fn answer<'a>(&self, written: impl IntoIterator<Item = (&'a str, i64)>) {
        if !self.any() {
            return;
        }
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        for (request_id, row) in written {
            if let Some((_, sender)) = waiting.remove(request_id) {
                self.count.fetch_sub(1, Ordering::SeqCst);
                // The one waiting may have given up; the row is written either way.
                let _ = sender.send(row);
            }
        }
    }
}

/// A registered request id; dropping it withdraws the registration.
pub struct Expectation {
    request_id: Box<str>,
    number: u64,
    receiver: oneshot::Receiver<i64>,
    expected: Arc<Expected>,
}

impl Ledger {
    /// Registers `request_id`: the row of the request that carries it as `x-request-id` will be reported to the
    /// returned [`Expectation`]. Register before sending, with an id no one else uses (a random one). A second
    /// registration of the same id replaces the first.
    pub fn expect(&self, request_id: &str) -> Expectation {
        let expected = self.shared.core.expected.clone();
        let (sender, receiver) = oneshot::channel();
        let number = expected.next.fetch_add(1, Ordering::Relaxed);
        let replaced = {
            let mut waiting = expected.waiting.lock().unwrap_or_else(PoisonError::into_inner);
            waiting.insert(request_id.into(), (number, sender)).is_some()
        };
        if !replaced {
            expected.count.fetch_add(1, Ordering::SeqCst);
        }
        Expectation { request_id: request_id.into(), number, receiver, expected }
    }

    /// Whether a request should carry its request id to the ledger: something is expected. One atomic load.
    pub fn expects_request_ids(&self) -> bool {
        self.shared.core.expected.any()
    }
}

impl Expectation {
    /// The id of the row written for the request, once the writer has it: waits up to `within` (a stream is
    /// recorded a moment after its last byte), flushing the writer so no batch interval is waited out. `None` when
    /// the request wrote no row in that time (the gateway refused it before routing) or the ledger stopped.
    pub async fn row_id(mut self, ledger: &Ledger, within: Duration) -> Option<i64> {
        let deadline = Instant::now() + within;
        loop {
            ledger.flush().await;
            match tokio::time::timeout(Duration::from_millis(50), &mut self.receiver).await {
                Ok(Ok(row)) => return Some(row),
                Ok(Err(_)) => return None,
                Err(_) if Instant::now() >= deadline => return None,
                Err(_) => {}
            }
        }
    }
}

impl Drop for Expectation {
    fn drop(&mut self) {
        let mut waiting = self.expected.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        // Still registered (neither answered nor replaced): withdraw it.
        if waiting.get(&*self.request_id).is_some_and(|(number, _)| *number == self.number) {
            waiting.remove(&*self.request_id);
            self.expected.count.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
