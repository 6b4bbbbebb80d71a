//! Per-server health (consecutive failures, backoff, last error) and the time budget of
//! the mysqld call in progress, shared by the broker and every connection it opened.

use crate::TransportError;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// First wait before a failed server is dialled again; doubled per further failure.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// Longest wait before a failed server is dialled again.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Default, Clone)]
struct ServerHealth {
    consecutive_failures: u32,
    retry_after: Option<Instant>,
    last_error: Option<String>,
    /// The first failure during the current call: the cause, where later ones are
    /// usually its consequences (a retry finding the budget spent).
    call_error: Option<String>,
    failed_in_call: bool,
}

#[derive(Debug, Clone, Copy)]
struct Budget {
    deadline: Instant,
    length: Duration,
    renew_on_progress: bool,
}

#[derive(Debug)]
struct State {
    servers: Vec<ServerHealth>,
    budget: Option<Budget>,
    /// When a server last answered, and which.
    last_answer: Option<(SystemTime, usize)>,
}

/// How a call's time budget behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// store, generate, remove: the budget is fixed when the call starts.
    Write,
    /// load: the budget starts again after every complete response, so a long load that
    /// keeps making progress is not cut short, and a stalled one is.
    Load,
}

/// Health of the configured servers and the budget of the current call.
#[derive(Debug)]
pub struct Health {
    endpoints: Vec<String>,
    state: Mutex<State>,
}

impl ServerHealth {
    fn note(&mut self, error: &TransportError) {
        let described = error.to_string();
        self.call_error.get_or_insert_with(|| described.clone());
        self.last_error = Some(described);
        self.failed_in_call = true;
    }
}

/// The backoff after `failures` consecutive failed attempts to open a server.
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(BACKOFF_MAX)
}

impl Health {
    /// Health for these servers ("host:port", in configuration order), all presumed up.
    pub fn new(endpoints: Vec<String>) -> Self {
        let servers = vec![ServerHealth::default(); endpoints.len()];
        Self {
            endpoints,
            state: Mutex::new(State {
                servers,
                budget: None,
                last_answer: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a call from mysqld with this much time in all (the deadline times the number
    /// of servers); forgets which servers failed during the previous call.
    pub fn begin_call(&self, kind: CallKind, length: Duration) {
        let mut state = self.state();
        for server in &mut state.servers {
            server.failed_in_call = false;
            server.call_error = None;
        }
        state.budget = Some(Budget {
            deadline: Instant::now() + length,
            length,
            renew_on_progress: kind == CallKind::Load,
        });
    }

    /// Ends the call: no budget applies until the next one.
    pub fn end_call(&self) {
        self.state().budget = None;
    }

    /// `deadline`, or the end of the call's budget if that comes first.
    pub fn clamp(&self, deadline: Instant) -> Instant {
        match self.state().budget {
            Some(budget) => deadline.min(budget.deadline),
            None => deadline,
        }
    }

    /// Why server `index` is not to be dialled now, if it is in backoff and another
    /// server is not. When every server is in backoff, all are tried: the key server
    /// coming back must be noticed by the next call, not after the backoff.
    pub fn skip_reason(&self, index: usize) -> Option<String> {
        let state = self.state();
        let now = Instant::now();
        let waiting = |s: &ServerHealth| s.retry_after.is_some_and(|t| t > now);
        let server = state.servers.get(index)?;
        if !waiting(server) || state.servers.iter().all(waiting) {
            return None;
        }
        let left = server.retry_after.map_or(Duration::ZERO, |t| t - now);
        Some(format!(
            "{}: not dialled, {} attempt(s) failed in a row, next in {} ms (last: {})",
            self.endpoints[index],
            server.consecutive_failures,
            left.as_millis(),
            server.last_error.as_deref().unwrap_or("unknown")
        ))
    }

    /// Records a failed attempt to open server `index` (starts or lengthens its backoff).
    pub fn open_failed(&self, index: usize, error: &TransportError) {
        let mut state = self.state();
        if let Some(server) = state.servers.get_mut(index) {
            server.consecutive_failures = server.consecutive_failures.saturating_add(1);
            server.retry_after = Some(Instant::now() + backoff(server.consecutive_failures));
            server.note(error);
        }
    }

    /// Records a failure on an open connection to server `index` (no backoff: the
    /// reconnection attempt decides).
    pub fn connection_failed(&self, index: usize, error: &TransportError) {
        let mut state = self.state();
        if let Some(server) = state.servers.get_mut(index) {
            server.note(error);
        }
    }

    /// Records a complete response from server `index`: it is healthy, and a load's budget
    /// starts again.
    pub fn answered(&self, index: usize) {
        let mut state = self.state();
        if let Some(server) = state.servers.get_mut(index) {
            server.consecutive_failures = 0;
            server.retry_after = None;
        }
        state.last_answer = Some((SystemTime::now(), index));
        if let Some(budget) = state.budget.as_mut() {
            if budget.renew_on_progress {
                budget.deadline = Instant::now() + budget.length;
            }
        }
    }

    /// When a server last answered a request, and which ("host:port").
    pub fn last_answer(&self) -> Option<(SystemTime, String)> {
        let (at, index) = self.state().last_answer?;
        Some((at, self.endpoints.get(index)?.clone()))
    }

    /// Every server that failed during the current call, with why, in configuration order.
    pub fn failures_in_call(&self) -> Vec<String> {
        let state = self.state();
        state
            .servers
            .iter()
            .zip(&self.endpoints)
            .filter(|(s, _)| s.failed_in_call)
            .map(|(s, endpoint)| {
                format!(
                    "{endpoint}: {}",
                    s.call_error.as_deref().unwrap_or("failed")
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(7), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn a_server_in_backoff_is_skipped_only_while_another_is_not() {
        let health = Health::new(vec!["a:1".into(), "b:2".into()]);
        assert_eq!(health.skip_reason(0), None);
        health.open_failed(0, &TransportError::Closed);
        let reason = health.skip_reason(0).expect("a is in backoff, b is not");
        assert!(reason.starts_with("a:1: not dialled"), "{reason}");
        health.open_failed(1, &TransportError::Refused("b".into()));
        assert_eq!(health.skip_reason(0), None, "all down: try them all");
        health.answered(1);
        assert!(health.skip_reason(0).is_some());
        assert_eq!(health.skip_reason(1), None);
    }

    #[test]
    fn failures_are_reported_per_call() {
        let health = Health::new(vec!["a:1".into(), "b:2".into()]);
        health.begin_call(CallKind::Write, Duration::from_secs(1));
        health.open_failed(1, &TransportError::Timeout("connecting".into()));
        assert_eq!(
            health.failures_in_call(),
            ["b:2: timed out (connecting)".to_owned()]
        );
        health.begin_call(CallKind::Write, Duration::from_secs(1));
        assert!(health.failures_in_call().is_empty());
    }

    #[test]
    fn a_load_budget_is_renewed_by_progress_and_a_write_budget_is_not() {
        let health = Health::new(vec!["a:1".into()]);
        let far = Instant::now() + Duration::from_secs(3600);
        health.begin_call(CallKind::Write, Duration::from_millis(50));
        let first = health.clamp(far);
        std::thread::sleep(Duration::from_millis(5));
        health.answered(0);
        assert_eq!(health.clamp(far), first);
        health.begin_call(CallKind::Load, Duration::from_millis(50));
        let first = health.clamp(far);
        std::thread::sleep(Duration::from_millis(5));
        health.answered(0);
        assert!(health.clamp(far) > first);
        health.end_call();
        assert_eq!(health.clamp(far), far);
    }
}
