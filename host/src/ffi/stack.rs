//! How much of the calling thread's stack is left. mysqld's connection threads have
//! `thread_stack` bytes (1 MiB by default, 128 KiB at the least) and have used part of it
//! by the time they call us; the guest runs on a stack of its own, but the host code of a
//! load (configuration, TLS setup, compiling a `guest_module`) and of every other call up
//! to the switch runs here. Running out would hit the thread's guard page and kill mysqld,
//! so each entry point that does real work refuses, with a clear error, to start with less
//! than it may need.

use std::cell::Cell;

/// The least stack a load, store, generate or remove needs left on the calling thread.
/// Measured through the C ABI (tests/tests/loader_stack.rs): 15 KiB for a load, under
/// 8 KiB for the others; the rest is room for mysqld's own error-log code, which runs on
/// this thread when a call fails.
pub const MIN_STACK_LEFT: usize = 48 << 10;

/// The least stack a load needs left when it compiles a `guest_module` with Cranelift on
/// the calling thread (measured: 146 KiB). The embedded guest is precompiled, and a
/// compiled guest is kept across RELOADs, so only the first load of a new module needs it:
/// at startup that is mysqld's main thread (8 MiB).
pub const MIN_STACK_LEFT_TO_COMPILE: usize = 384 << 10;

thread_local! {
    /// The calling thread's stack bounds (lowest address, size), read once per thread.
    static BOUNDS: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// The calling thread's stack: (lowest usable address, size), from `pthread_getattr_np`.
fn bounds() -> Option<(usize, usize)> {
    if let Some(known) = BOUNDS.get() {
        return Some(known);
    }
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `attr` is written by pthread_getattr_np before it is read, and destroyed
    // exactly once after a successful call.
    let found = unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let mut low: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let status = libc::pthread_attr_getstack(attr.as_ptr(), &mut low, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (status == 0).then_some((low as usize, size))
    }?;
    BOUNDS.set(Some(found));
    Some(found)
}

/// Bytes of stack left below the caller's frame; `None` when the bounds are unknown.
pub fn left() -> Option<usize> {
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let (low, size) = bounds()?;
    (here > low && here <= low + size).then(|| here - low)
}

/// `Err` with the reason when the calling thread has less than [`MIN_STACK_LEFT`] left.
pub fn check(operation: &str) -> Result<(), String> {
    check_for(operation, MIN_STACK_LEFT)
}

/// `Err` with the reason when the calling thread has less than `needed` bytes left.
pub fn check_for(operation: &str, needed: usize) -> Result<(), String> {
    match left() {
        Some(left) if left < needed => Err(format!(
            "{operation} refused: only {} KiB of stack are left on the calling thread and \
             the keyring needs {} KiB; raise mysqld's thread_stack",
            left >> 10,
            needed >> 10
        )),
        _ => Ok(()),
    }
}
