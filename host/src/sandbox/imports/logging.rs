//! `logging`: the guest's log lines, bounded in length, to the host's sink.

use crate::log::LogLevel;
use crate::sandbox::bindings::logging::{Host, Level};
use crate::sandbox::host_state::HostState;

/// Longest guest log line kept; the rest is cut so a guest cannot flood the error log.
const MAX_LINE: usize = 1024;

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            Level::Error => LogLevel::Error,
            Level::Warning => LogLevel::Warning,
            Level::Info => LogLevel::Info,
            Level::Debug => LogLevel::Debug,
        };
        let mut line: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_LINE)
            .collect();
        if message.chars().count() > MAX_LINE {
            line.push_str(" [truncated]");
        }
        self.log.log(level, &line);
        Ok(())
    }
}
