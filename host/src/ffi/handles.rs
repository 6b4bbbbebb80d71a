//! Objects handed to mysqld as opaque handles (reader objects, iterators): boxed on the way
//! out, borrowed while mysqld uses them, freed exactly once when it gives them back.

use super::abi::{Handle, Status, FAILED, OK};
use super::args::write;

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
