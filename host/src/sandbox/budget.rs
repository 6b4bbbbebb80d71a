//! What one guest call may ask of the host. Fuel counts the guest's own instructions, not
//! the host's work on its behalf: without these caps a guest could keep mysqld's thread
//! busy (a million cheap imports, a log flood written to the error log, entropy drawn
//! forever, a key server kept answering) for as long as it likes. A guest that passes a
//! cap traps; the instance is discarded and the call fails with the cap named.

use std::fmt;

/// Connections one guest instance may hold open at once (the keyring needs one).
pub const MAX_OPEN_CONNECTIONS: usize = 8;
/// Random bytes one `random-bytes` import may ask for (the WIT documents it).
pub const MAX_RANDOM_BYTES: u32 = 65536;
/// Imports (of any kind) one call may make.
pub const MAX_HOST_CALLS: u32 = 1_000_000;
/// Bytes one call may hand to the host across all its imports (log lines, requests). One
/// import alone is capped by wasmtime's hostcall fuel, set to the memory limit.
pub const MAX_GUEST_TO_HOST_BYTES: u64 = 256 << 20;
/// Log lines one call may write; later ones are counted and dropped, never written.
pub const MAX_LOG_LINES: u32 = 1_000;
/// Random bytes one call may draw (a generate needs at most 16 KiB).
pub const MAX_RANDOM_BYTES_PER_CALL: u64 = 1 << 20;
/// KMIP request messages one load may send: enough for the largest load the host accepts
/// (`MAX_KEYS` keys, Locate pages of 16 identifiers, batches, retries).
pub const MAX_MESSAGES_LOAD: u32 = 50_000;

/// The most fuel slices (`sandbox_fuel_per_call` each) one load may burn: a fresh slice is
/// handed out only after a KMIP response, and never more than these. A load of
/// [`kmip_keyring_rules::MAX_KEYS`] mixed keys fits in a quarter of them (fuel is
/// deterministic; `sandbox_limits` loads that many with a quarter of the default slice),
/// while a guest that computes and sends one cheap request per slice is stopped after
/// this many, about 32 s of CPU at the defaults.
pub const MAX_FUEL_SLICES_LOAD: u64 = 16;
/// KMIP request messages one store, generate or remove may send (about ten at most).
pub const MAX_MESSAGES_WRITE: u32 = 64;

/// The kind of guest call a budget is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `configure`, `status`: no I/O.
    Local,
    /// `load-all`.
    Load,
    /// `store-key`, `generate-key`, `remove-key`.
    Write,
}

/// What the current call has used so far.
#[derive(Debug, Clone)]
pub struct CallBudget {
    max_messages: u32,
    host_calls: u32,
    guest_to_host_bytes: u64,
    log_lines: u32,
    /// Log lines past [`MAX_LOG_LINES`], dropped.
    pub(crate) dropped_log_lines: u32,
    random_bytes: u64,
    messages: u32,
}

/// A cap the guest passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded(pub String);

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl CallBudget {
    /// A fresh budget for a call of `kind`.
    pub fn new(kind: CallKind) -> Self {
        Self {
            max_messages: match kind {
                CallKind::Local => 0,
                CallKind::Load => MAX_MESSAGES_LOAD,
                CallKind::Write => MAX_MESSAGES_WRITE,
            },
            host_calls: 0,
            guest_to_host_bytes: 0,
            log_lines: 0,
            dropped_log_lines: 0,
            random_bytes: 0,
            messages: 0,
        }
    }

    /// Counts one import that hands `bytes` to the host.
    pub fn host_call(&mut self, bytes: usize) -> Result<(), Exceeded> {
        self.host_calls = self.host_calls.saturating_add(1);
        if self.host_calls > MAX_HOST_CALLS {
            return Err(Exceeded(format!(
                "the guest made more than {MAX_HOST_CALLS} host calls in one call"
            )));
        }
        self.guest_to_host_bytes = self.guest_to_host_bytes.saturating_add(bytes as u64);
        if self.guest_to_host_bytes > MAX_GUEST_TO_HOST_BYTES {
            return Err(Exceeded(format!(
                "the guest handed more than {} MiB to the host in one call",
                MAX_GUEST_TO_HOST_BYTES >> 20
            )));
        }
        Ok(())
    }

    /// Whether one more log line may be written; counts it as dropped when not.
    pub fn log_line(&mut self) -> bool {
        if self.log_lines < MAX_LOG_LINES {
            self.log_lines += 1;
            true
        } else {
            self.dropped_log_lines = self.dropped_log_lines.saturating_add(1);
            false
        }
    }

    /// Counts `len` random bytes drawn.
    pub fn random(&mut self, len: u32) -> Result<(), Exceeded> {
        self.random_bytes = self.random_bytes.saturating_add(u64::from(len));
        if self.random_bytes > MAX_RANDOM_BYTES_PER_CALL {
            return Err(Exceeded(format!(
                "the guest asked for more than {} KiB of random bytes in one call",
                MAX_RANDOM_BYTES_PER_CALL >> 10
            )));
        }
        Ok(())
    }

    /// Counts one KMIP request message.
    pub fn message(&mut self) -> Result<(), Exceeded> {
        self.messages = self.messages.saturating_add(1);
        if self.messages > self.max_messages {
            return Err(Exceeded(format!(
                "the guest sent more than {} KMIP messages in one call",
                self.max_messages
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_trips_just_past_its_value() {
        let mut b = CallBudget::new(CallKind::Write);
        for _ in 0..MAX_MESSAGES_WRITE {
            b.message().unwrap();
        }
        assert!(b.message().is_err());
        let mut b = CallBudget::new(CallKind::Local);
        assert!(b.message().is_err(), "local calls do no I/O");
        let mut b = CallBudget::new(CallKind::Load);
        b.random(MAX_RANDOM_BYTES_PER_CALL as u32).unwrap();
        assert!(b.random(1).is_err());
        for _ in 0..MAX_LOG_LINES {
            assert!(b.log_line());
        }
        assert!(!b.log_line());
        assert_eq!(b.dropped_log_lines, 1);
        b.host_call(MAX_GUEST_TO_HOST_BYTES as usize).unwrap();
        assert!(b.host_call(1).is_err());
    }
}
