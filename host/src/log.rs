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

/// The message as one line: every control character (newline, carriage return, escape)
/// becomes a space, so that text from a key name or a server cannot forge log lines.
pub fn one_line(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `[component_keyring_kmip] Level: message` as one line to standard error. Never
/// panics: a failed write (a full disk, a closed pipe) loses the line, nothing else
/// (`eprintln!` panics there, and a panic inside a panic hook aborts the process).
pub fn write_stderr(level: LogLevel, message: &str) {
    use std::io::Write;
    let line = format!(
        "[component_keyring_kmip] {level:?}: {}\n",
        one_line(message)
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Writes lines to standard error, prefixed with the component name.
#[derive(Debug, Default)]
pub struct StderrLog;

impl LogSink for StderrLog {
    fn log(&self, level: LogLevel, message: &str) {
        write_stderr(level, message);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_becomes_exactly_one_line() {
        assert_eq!(
            one_line("key 'a\nFAKE [ERROR] line'\r\x1b[31m"),
            "key 'a FAKE [ERROR] line'  [31m"
        );
    }
}
