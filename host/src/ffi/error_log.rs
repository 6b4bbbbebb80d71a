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
//!
//! Releasing it again is the delicate part: mysqld runs a component's `deinit` while it
//! holds the registry's write lock, so the ordinary `registry.release` would wait for that
//! lock (glibc happens to fail the attempt with EDEADLK; other platforms would hang). The
//! minimal chassis provides a second `registry` implementation that takes no lock,
//! `registry.mysql_minimal_chassis_no_lock` (MySQL's own component_keyring_file uses it in
//! its deinit). We acquire it together with the error log and release both through it.
//! On a server without it the one reference is left for the server's shutdown to drop.

use super::abi::{Handle, RegistryService, SimpleErrorLogService};
use crate::log::{LogLevel, LogSink};
use std::ffi::{c_int, c_ulong, c_void, CStr, CString};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

/// The `registry` service, written by mysqld's loader through the requires list.
pub static REGISTRY: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
static SIMPLE_LOG: AtomicPtr<c_void> = AtomicPtr::new(null_mut());
static NO_LOCK_REGISTRY: AtomicPtr<c_void> = AtomicPtr::new(null_mut());

/// The lock-free registry implementation of the minimal chassis (MySQL 8.1 and later).
const NO_LOCK_REGISTRY_NAME: &CStr = c"registry.mysql_minimal_chassis_no_lock";
const SIMPLE_LOG_NAME: &CStr = c"mysql_simple_error_log";

/// `ER_LOG_PRINTF_MSG`, whose message is "%s" (its number in MySQL 8.0 and 9.x).
const ER_LOG_PRINTF_MSG: c_int = 11071;

/// # Safety
/// `p` is NULL or a `registry` service struct that stays alive while the component is
/// loaded (both registries mysqld gives us are).
unsafe fn as_registry<'a>(p: *mut c_void) -> Option<&'a RegistryService> {
    // SAFETY: per this function's contract.
    (!p.is_null()).then(|| unsafe { &*p.cast::<RegistryService>() })
}

fn registry() -> Option<&'static RegistryService> {
    // SAFETY: non-NULL only once the loader stored the registry service struct.
    unsafe { as_registry(REGISTRY.load(Ordering::Acquire)) }
}

/// Acquires `name` through the locking registry into `slot`, once: when two loads race,
/// the loser gives its reference back at once, so exactly one is ever held.
fn acquire_once(registry: &RegistryService, name: &CStr, slot: &AtomicPtr<c_void>) {
    if !slot.load(Ordering::Acquire).is_null() {
        return;
    }
    let mut handle: Handle = null_mut();
    // SAFETY: `acquire` is the registry's first method; the name is NUL-terminated and
    // `handle` is a valid out pointer.
    let status = unsafe { (registry.acquire)(name.as_ptr(), &mut handle) };
    if status != 0 || handle.is_null() {
        return;
    }
    if slot
        .compare_exchange(null_mut(), handle, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // SAFETY: `handle` came from this registry's `acquire` just now and is not stored.
        unsafe { (registry.release)(handle) };
    }
}

/// Acquires `mysql_simple_error_log` and the lock-free registry (to release it in
/// `deinit`) if the server has them and we do not hold them yet. Runs in `load`, outside
/// any registry lock.
pub fn acquire() {
    let Some(registry) = registry() else { return };
    acquire_once(registry, NO_LOCK_REGISTRY_NAME, &NO_LOCK_REGISTRY);
    acquire_once(registry, SIMPLE_LOG_NAME, &SIMPLE_LOG);
}

/// Releases what `acquire` took, through the lock-free registry only: this runs in
/// `deinit`, under mysqld's registry write lock. Without the lock-free registry the error
/// log's reference is kept (the locking `release` would wait on that lock).
pub fn release() {
    let no_lock = NO_LOCK_REGISTRY.load(Ordering::Acquire);
    // SAFETY: a registry service struct acquired from mysqld's registry, alive until the
    // release below.
    let Some(no_lock_registry) = (unsafe { as_registry(no_lock) }) else {
        return;
    };
    let log = SIMPLE_LOG.swap(null_mut(), Ordering::AcqRel);
    if !log.is_null() {
        // SAFETY: `log` came from the registry's `acquire` and is released once.
        unsafe { (no_lock_registry.release)(log) };
    }
    if NO_LOCK_REGISTRY
        .compare_exchange(no_lock, null_mut(), Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // SAFETY: releasing the lock-free registry's own reference, once, through itself.
        unsafe { (no_lock_registry.release)(no_lock) };
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
    let service = SIMPLE_LOG.load(Ordering::Acquire);
    if service.is_null() {
        crate::log::write_stderr(level, message);
        return;
    }
    // One line per message: the error log is read line by line.
    let text = CString::new(crate::log::one_line(message)).unwrap_or_default();
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
