//! Logging to mysqld's error log.
//!
//! Why this mechanism: `mysql_simple_error_log` (MySQL 8.0.33 and later, 9.x) is a stable
//! one-function service; `log_builtins` is large and changed its layout across releases,
//! so calling it by offset could corrupt memory on a server we did not measure. We require
//! only `registry` (present in every server), and acquire `mysql_simple_error_log` through
//! it in `load` — outside the dynamic loader's init, where registry calls are not supported.
//! On a server that lacks the service the component still loads and logs to standard
//! error, which mysqld redirects to its error log once startup has progressed (lines
//! written during startup may then be lost: this is the documented degradation).

use super::abi::{Handle, RegistryService, SimpleErrorLogService};
use crate::log::{LogLevel, LogSink};
use std::ffi::{c_int, c_ulong, c_void, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The `registry` service, written by mysqld's loader through the requires list.
pub static REGISTRY: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
static SIMPLE_LOG: AtomicPtr<c_void> = AtomicPtr::new(null_mut());

/// `ER_LOG_PRINTF_MSG`, whose message is "%s" (its number in MySQL 8.0 and 9.x).
const ER_LOG_PRINTF_MSG: c_int = 11071;

fn registry() -> Option<&'static RegistryService> {
    let p = REGISTRY.load(Ordering::Acquire);
    // SAFETY: non-NULL only once the loader stored the registry service struct, which
    // mysqld keeps alive for as long as our component is loaded.
    (!p.is_null()).then(|| unsafe { &*p.cast::<RegistryService>() })
}

/// Acquires `mysql_simple_error_log` if the server has it and we do not hold it yet.
pub fn acquire() {
    if !SIMPLE_LOG.load(Ordering::Acquire).is_null() {
        return;
    }
    let Some(registry) = registry() else { return };
    let mut handle: Handle = null_mut();
    // SAFETY: `acquire` is the registry's first method; the name is NUL-terminated and
    // `handle` is a valid out pointer.
    let status = unsafe { (registry.acquire)(c"mysql_simple_error_log".as_ptr(), &mut handle) };
    if status == 0 && !handle.is_null() {
        SIMPLE_LOG.store(handle, Ordering::Release);
    }
}

/// Releases the service, if held.
pub fn release() {
    let handle = SIMPLE_LOG.swap(null_mut(), Ordering::AcqRel);
    if let (false, Some(registry)) = (handle.is_null(), registry()) {
        // SAFETY: `handle` came from this registry's `acquire` and is released once.
        unsafe { (registry.release)(handle) };
    }
}

/// Writes one line to the error log (or standard error without the service).
pub fn emit(level: LogLevel, message: &str) {
    let severity: c_int = match level {
        LogLevel::System => 0,
        LogLevel::Error => 1,
        LogLevel::Warning => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => return,
    };
    // One line per message: the error log is read line by line.
    let flat: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = CString::new(flat).unwrap_or_default();
    let service = SIMPLE_LOG.load(Ordering::Acquire);
    if service.is_null() {
        eprintln!("[component_keyring_kmip] {level:?}: {message}");
        return;
    }
    // SAFETY: the handle is the acquired `mysql_simple_error_log` struct, alive until we
    // release it; `emit` formats ER_LOG_PRINTF_MSG ("%s") with exactly one C string.
    unsafe {
        let service = &*service.cast::<SimpleErrorLogService>();
        (service.emit)(
            c"component_keyring_kmip".as_ptr(),
            c"component_keyring_kmip".as_ptr(),
            line!() as c_ulong,
            severity,
            ER_LOG_PRINTF_MSG,
            text.as_ptr(),
        );
    }
}

/// The `LogSink` the keyring and its guest write to.
pub struct ErrorLog;

impl LogSink for ErrorLog {
    fn log(&self, level: LogLevel, message: &str) {
        emit(level, message);
    }
}
