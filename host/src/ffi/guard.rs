//! The panic guard at every entry point: a panic becomes the method's failure value, never
//! an unwind into mysqld.

use super::abi::Status;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; a panic returns `on_panic` instead.
pub fn guard(on_panic: Status, f: impl FnOnce() -> Status) -> Status {
    // AssertUnwindSafe: state touched by a panicking call is behind poison-tolerant locks
    // and is rebuilt or discarded by the next load.
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// Replaces the default panic hook (which prints a backtrace when mysqld runs with
/// RUST_BACKTRACE set) with one line in the error log.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned());
        super::error_log::emit(
            crate::log::LogLevel::Error,
            &format!("internal error{location}: {message}; the operation failed"),
        );
    }));
}
