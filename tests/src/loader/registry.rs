//! The loader's service registry, with MySQL's rules: the first implementation registered
//! for a service is its default; `acquire_related` tries the related implementation's
//! suffix and falls back to the default. Also the server-side `mysql_simple_error_log`,
//! which captures the component's log lines, and the minimal chassis's lock-free
//! `registry.mysql_minimal_chassis_no_lock`.
//!
//! As in mysqld, a component's `deinit` runs while the registry's write lock is held: a
//! call into the locking `registry` during it would wait on that lock in mysqld (glibc
//! fails the attempt with EDEADLK instead). The fake counts such calls and carries on.

use super::abi::*;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

struct Entry {
    implementation: usize,
    references: usize,
}

static SERVICES: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());
/// Set while the loader runs a component's `deinit` (mysqld's registry write lock).
static WRITE_LOCKED: AtomicBool = AtomicBool::new(false);
/// Calls into the locking registry made while [`WRITE_LOCKED`] was set.
static LOCKED_CALLS_UNDER_WRITE_LOCK: AtomicUsize = AtomicUsize::new(0);

/// The name of the lock-free registry implementation of MySQL's minimal chassis.
pub const NO_LOCK_REGISTRY: &str = "registry.mysql_minimal_chassis_no_lock";

/// Marks the registry write lock as held (around `deinit`) or released.
pub fn set_write_locked(held: bool) {
    WRITE_LOCKED.store(held, Ordering::SeqCst);
}

/// How many calls into the locking registry were made under the write lock so far.
pub fn locked_calls_under_write_lock() -> usize {
    LOCKED_CALLS_UNDER_WRITE_LOCK.load(Ordering::SeqCst)
}

fn note_locking_call() {
    if WRITE_LOCKED.load(Ordering::SeqCst) {
        LOCKED_CALLS_UNDER_WRITE_LOCK.fetch_add(1, Ordering::SeqCst);
    }
}
static LOG: Mutex<Vec<(i32, String)>> = Mutex::new(Vec::new());

fn lock<T>(m: &'static Mutex<T>) -> std::sync::MutexGuard<'static, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers `name` ("service.implementation") -> struct address; the first one per
/// service becomes the default. Duplicates fail.
pub fn register(name: &str, implementation: *const c_void) -> bool {
    let mut services = lock(&SERVICES);
    if services.contains_key(name) {
        return false;
    }
    services.insert(
        name.to_owned(),
        Entry {
            implementation: implementation as usize,
            references: 0,
        },
    );
    drop(services);
    note_default(name);
    true
}

/// Unregisters; fails while referenced.
pub fn unregister(name: &str) -> bool {
    let mut services = lock(&SERVICES);
    match services.get(name) {
        Some(e) if e.references == 0 => {
            services.remove(name);
            true
        }
        _ => false,
    }
}

/// Every registered implementation name, sorted (as `registry_query` walks them).
pub fn names() -> Vec<String> {
    lock(&SERVICES).keys().cloned().collect()
}

fn resolve(services: &BTreeMap<String, Entry>, name: &str) -> Option<String> {
    if services.contains_key(name) {
        return Some(name.to_owned());
    }
    if name.contains('.') {
        return None;
    }
    // The default: the first registered implementation of the service. Our map is sorted,
    // so remember registration order through a parallel list.
    lock(&DEFAULTS).get(name).cloned()
}

static DEFAULTS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Records the default implementation of a service (the first registered).
pub fn note_default(name: &str) {
    if let Some((service, _)) = name.split_once('.') {
        lock(&DEFAULTS)
            .entry(service.to_owned())
            .or_insert_with(|| name.to_owned());
    }
}

/// Acquires by name (or default), counting the reference.
pub fn acquire(name: &str) -> Option<*const c_void> {
    let mut services = lock(&SERVICES);
    let key = resolve(&services, name)?;
    let entry = services.get_mut(&key)?;
    entry.references += 1;
    Some(entry.implementation as *const c_void)
}

/// `acquire_related`: `service` + the suffix of `related`'s implementation, else default.
pub fn acquire_related(service: &str, related: *const c_void) -> Option<*const c_void> {
    let suffix = {
        let services = lock(&SERVICES);
        services
            .iter()
            .find(|(_, e)| e.implementation == related as usize)
            .and_then(|(n, _)| n.split_once('.').map(|(_, s)| s.to_owned()))
    };
    if let Some(suffix) = suffix {
        if let Some(p) = acquire(&format!("{service}.{suffix}")) {
            return Some(p);
        }
    }
    acquire(service)
}

/// Releases one reference to the implementation at `p`.
pub fn release(p: *const c_void) -> bool {
    let mut services = lock(&SERVICES);
    match services
        .values_mut()
        .find(|e| e.implementation == p as usize && e.references > 0)
    {
        Some(e) => {
            e.references -= 1;
            true
        }
        None => false,
    }
}

/// How many references are outstanding on `name`.
pub fn references(name: &str) -> usize {
    lock(&SERVICES).get(name).map_or(0, |e| e.references)
}

/// Every line the component logged: (severity, text).
pub fn log_lines() -> Vec<(i32, String)> {
    lock(&LOG).clone()
}

/// Every line the component logged since the last call, taken out of the record, so a long
/// run's record does not grow.
pub fn take_log_lines() -> Vec<(i32, String)> {
    std::mem::take(&mut *lock(&LOG))
}

unsafe fn name_arg<'a>(p: *const c_char) -> Option<&'a str> {
    // SAFETY: the component passes NUL-terminated names or NULL.
    (!p.is_null())
        .then(|| unsafe { CStr::from_ptr(p) }.to_str().ok())
        .flatten()
}

unsafe extern "C" fn registry_acquire(name: *const c_char, out: *mut Handle) -> Status {
    note_locking_call();
    // SAFETY: forwarded contract.
    unsafe { no_lock_acquire(name, out) }
}

unsafe extern "C" fn no_lock_acquire(name: *const c_char, out: *mut Handle) -> Status {
    // SAFETY: arguments from the component per the registry contract.
    let Some(name) = (unsafe { name_arg(name) }) else {
        return 1;
    };
    match acquire(name) {
        Some(p) if !out.is_null() => {
            // SAFETY: `out` is a valid slot per the contract.
            unsafe { out.write(p as Handle) };
            0
        }
        _ => 1,
    }
}

unsafe extern "C" fn registry_acquire_related(
    name: *const c_char,
    related: Handle,
    out: *mut Handle,
) -> Status {
    note_locking_call();
    // SAFETY: forwarded contract.
    unsafe { no_lock_acquire_related(name, related, out) }
}

unsafe extern "C" fn no_lock_acquire_related(
    name: *const c_char,
    related: Handle,
    out: *mut Handle,
) -> Status {
    // SAFETY: arguments from the component per the registry contract.
    let Some(name) = (unsafe { name_arg(name) }) else {
        return 1;
    };
    match acquire_related(name, related) {
        Some(p) if !out.is_null() => {
            // SAFETY: `out` is a valid slot per the contract.
            unsafe { out.write(p as Handle) };
            0
        }
        _ => 1,
    }
}

unsafe extern "C" fn registry_release(p: Handle) -> Status {
    note_locking_call();
    // SAFETY: forwarded contract.
    unsafe { no_lock_release(p) }
}

unsafe extern "C" fn no_lock_release(p: Handle) -> Status {
    if release(p) {
        0
    } else {
        1
    }
}

unsafe extern "C" fn simple_log_emit(
    _component: *const c_char,
    _file: *const c_char,
    _line: c_ulong,
    severity: c_int,
    _error_id: c_int,
    message: *const c_char,
) -> Status {
    // SAFETY: the component passes one NUL-terminated string for "%s".
    let text = unsafe { name_arg(message) }
        .unwrap_or("<not UTF-8>")
        .to_owned();
    lock(&LOG).push((severity, text));
    0
}

/// `registry`: the minimal chassis's registry service, as mysqld provides it.
pub static REGISTRY: Registry = Registry {
    acquire: registry_acquire,
    acquire_related: registry_acquire_related,
    release: registry_release,
};

/// `registry.mysql_minimal_chassis_no_lock`: the same registry, taking no lock.
pub static REGISTRY_NO_LOCK: Registry = Registry {
    acquire: no_lock_acquire,
    acquire_related: no_lock_acquire_related,
    release: no_lock_release,
};

/// `mysql_simple_error_log`: the server's error log service, capturing each line.
pub static SIMPLE_ERROR_LOG: SimpleErrorLog = SimpleErrorLog {
    emit: simple_log_emit,
};

/// A placeholder struct standing in for the server's own `.mysql_server` keyring wrappers.
pub static SERVER_PLACEHOLDER: [usize; 8] = [0; 8];
