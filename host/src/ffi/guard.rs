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

#[cfg(test)]
mod tests {
    use super::super::abi::{FAILED, OK};
    use super::*;
    use crate::log::LogLevel;
    use std::os::fd::AsRawFd;

    /// Points file descriptor 2 at `file` while `f` runs.
    fn with_stderr_on(file: &std::fs::File, f: impl FnOnce()) {
        // SAFETY: fd 2 is saved, redirected and restored; `file` outlives the redirection.
        let saved = unsafe { libc::dup(2) };
        assert!(saved >= 0);
        // SAFETY: as above.
        assert!(unsafe { libc::dup2(file.as_raw_fd(), 2) } >= 0);
        f();
        // SAFETY: as above.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }

    #[test]
    fn lines_on_stderr_are_single_lines_and_a_failed_write_is_survived() {
        // Before load (or on a server without mysql_simple_error_log) lines go to stderr.
        let captured = tempfile::tempfile().unwrap();
        with_stderr_on(&captured, || {
            super::super::error_log::emit(
                LogLevel::Error,
                "storing 'x\n[ERROR] forged line' failed",
            );
        });
        let text =
            std::fs::read_to_string(format!("/proc/self/fd/{}", captured.as_raw_fd())).unwrap();
        assert_eq!(
            text,
            "[component_keyring_kmip] Error: storing 'x [ERROR] forged line' failed\n"
        );
        // A full disk or a closed pipe: the write fails. Neither the line, nor a panic in
        // the panic hook (which aborts the process), may take the caller down.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut status = OK;
        with_stderr_on(&full, || {
            install_panic_hook();
            super::super::error_log::emit(LogLevel::Error, "lost");
            status = guard(FAILED, || panic!("a deliberate panic\nwith a second line"));
            let _ = std::panic::take_hook();
        });
        assert_eq!(status, FAILED);
    }
}
