//! `logging`: the guest's log lines, bounded in length and number and scrubbed of anything
//! shaped like key material, to the host's sink.

use crate::log::LogLevel;
use crate::sandbox::bindings::logging::{Host, Level};
use crate::sandbox::host_state::HostState;

/// Longest guest log line kept; the rest is cut so a guest cannot flood the error log.
const MAX_LINE: usize = 1024;

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.charge(message.len())?;
        if !self.budget.log_line() {
            // Counted; the sandbox writes one line with the count when the call ends.
            return Ok(());
        }
        let level = match level {
            Level::Error => LogLevel::Error,
            Level::Warning => LogLevel::Warning,
            Level::Info => LogLevel::Info,
            Level::Debug => LogLevel::Debug,
        };
        let message = redact_key_like_runs(&message);
        let mut line: String = crate::log::one_line(&message)
            .chars()
            .take(MAX_LINE)
            .collect();
        if message.chars().count() > MAX_LINE {
            line.push_str(" [truncated]");
        }
        self.log.log(level, &line);
        Ok(())
    }
}

/// Shortest run of hex digits that could be a 128-bit key.
const HEX_RUN: usize = 32;
/// Shortest run of base64 characters that could be a 128-bit key.
const BASE64_RUN: usize = 22;

/// Replaces long runs of hex digits or base64 characters with `[redacted]`. A guest must
/// never log key material; this keeps a buggy or hostile one from getting it into the
/// error log in the usual printable encodings.
pub(crate) fn redact_key_like_runs(line: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    let mut out = String::with_capacity(line.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let hex = run.chars().all(|c| c.is_ascii_hexdigit());
        let mixed = run
            .chars()
            .any(|c| c.is_ascii_digit() || c == '+' || c == '/')
            && run.chars().any(|c| c.is_ascii_alphabetic());
        if (hex && run.len() >= HEX_RUN) || (mixed && run.len() >= BASE64_RUN) {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in line.chars() {
        if is_b64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::redact_key_like_runs as redact;

    #[test]
    fn key_shaped_runs_are_redacted_and_prose_is_not() {
        assert_eq!(
            redact("key 00112233445566778899aabbccddeeff!"),
            "key [redacted]!"
        );
        assert_eq!(
            redact("b64 ABEiM0RVZneImaq7zN3u/w== end"),
            "b64 [redacted] end"
        );
        assert_eq!(
            redact("loaded 12 keys from the KMIP server 127.0.0.1:5696"),
            "loaded 12 keys from the KMIP server 127.0.0.1:5696"
        );
        assert_eq!(
            redact("stored AES key 'INNODBKey-9f1c-1'"),
            "stored AES key 'INNODBKey-9f1c-1'"
        );
    }
}
