//! Objects handed to mysqld as opaque handles (reader objects, iterators): boxed, or one
//! reference to a shared value, on the way out, borrowed while mysqld uses them, freed
//! exactly once when it gives them back.

use super::abi::{Handle, Status, FAILED, OK};
use super::args::write;
use std::sync::Arc;

/// Boxes `value` and writes its handle through `out`; frees it again if `out` is NULL.
pub fn hand_out<T>(out: *mut Handle, value: T) -> Status {
    let handle = Box::into_raw(Box::new(value));
    // SAFETY: `out` is NULL or a valid handle slot (the service contract of every caller).
    if unsafe { write(out, handle.cast()) } {
        OK
    } else {
        // SAFETY: the box was not handed out; reclaim it.
        drop(unsafe { Box::from_raw(handle) });
        FAILED
    }
}

/// Borrows the object behind a handle from `hand_out::<T>` for a call that only reads it;
/// `None` for NULL.
///
/// # Safety
/// A non-NULL `handle` came from `hand_out::<T>` and is not given back yet.
pub unsafe fn borrow<'a, T>(handle: Handle) -> Option<&'a T> {
    // SAFETY: per this function's contract.
    (!handle.is_null()).then(|| unsafe { &*handle.cast::<T>() })
}

/// Borrows the object behind a handle from `hand_out::<T>` for a call that changes it
/// (an iterator's `next`); `None` for NULL.
///
/// # Safety
/// As for [`borrow`], and the handle is used by one thread at a time (MySQL's contract
/// for iterators).
pub unsafe fn borrow_mut<'a, T>(handle: Handle) -> Option<&'a mut T> {
    // SAFETY: per this function's contract.
    (!handle.is_null()).then(|| unsafe { &mut *handle.cast::<T>() })
}

/// Frees the object behind a handle from `hand_out::<T>`; NULL is a no-op.
///
/// # Safety
/// A non-NULL `handle` came from `hand_out::<T>` and is given back exactly once.
pub unsafe fn give_back<T>(handle: Handle) {
    if !handle.is_null() {
        // SAFETY: produced by Box::into_raw in `hand_out::<T>`, given back once (contract).
        drop(unsafe { Box::from_raw(handle.cast::<T>()) });
    }
}

/// Hands out one reference to a shared value as the handle itself (`Arc::into_raw`), with
/// no allocation; frees the reference again if `out` is NULL.
pub fn hand_out_shared<T>(out: *mut Handle, value: Arc<T>) -> Status {
    let handle = Arc::into_raw(value).cast_mut();
    // SAFETY: `out` is NULL or a valid handle slot (the service contract of every caller).
    if unsafe { write(out, handle.cast()) } {
        OK
    } else {
        // SAFETY: the reference was not handed out; reclaim it.
        drop(unsafe { Arc::from_raw(handle) });
        FAILED
    }
}

/// Borrows the value behind a handle from `hand_out_shared::<T>`; `None` for NULL.
///
/// # Safety
/// A non-NULL `handle` came from `hand_out_shared::<T>` and is not given back yet.
pub unsafe fn borrow_shared<'a, T>(handle: Handle) -> Option<&'a T> {
    // SAFETY: per this function's contract, the pointer is `Arc::into_raw`'s, and the
    // reference it stands for keeps the value alive until `give_back_shared`.
    (!handle.is_null()).then(|| unsafe { &*handle.cast::<T>().cast_const() })
}

/// Drops the reference behind a handle from `hand_out_shared::<T>`; NULL is a no-op.
///
/// # Safety
/// A non-NULL `handle` came from `hand_out_shared::<T>` and is given back exactly once.
pub unsafe fn give_back_shared<T>(handle: Handle) {
    if !handle.is_null() {
        // SAFETY: produced by Arc::into_raw in `hand_out_shared::<T>`, given back once.
        drop(unsafe { Arc::from_raw(handle.cast::<T>().cast_const()) });
    }
}
