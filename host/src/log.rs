//! Where the host's and the guest's log lines go. The mysqld shim plugs in the server's
//! error log; tests capture lines to check that no key material is ever written.

use std::sync::{Arc, Mutex};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Always shown, whatever the server's verbosity: keyring loaded or reloaded.
    System,
    /// An operation failed.
    Error,
    /// Unexpected, the operation went on.
    Warning,
    /// Normal, noteworthy events.
    Info,
    /// Troubleshooting detail.
    Debug,
}

/// A destination for log lines. Implementations must be cheap and must not block long.
pub trait LogSink: Send + Sync {
    /// Writes one line.
    fn log(&self, level: LogLevel, message: &str);
}

/// Writes lines to standard error, prefixed with the component name.
#[derive(Debug, Default)]
pub struct StderrLog;

impl LogSink for StderrLog {
    fn log(&self, level: LogLevel, message: &str) {
        eprintln!("[component_keyring_kmip] {level:?}: {message}");
    }
}

/// Keeps every line in memory (for tests and the demo).
#[derive(Debug, Default)]
pub struct MemoryLog(Mutex<Vec<(LogLevel, String)>>);

impl MemoryLog {
    /// A new, empty log behind an `Arc`.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// All lines so far.
    pub fn lines(&self) -> Vec<(LogLevel, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl LogSink for MemoryLog {
    fn log(&self, level: LogLevel, message: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((level, message.to_owned()));
    }
}
