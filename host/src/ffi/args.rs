//! Reading arguments from and writing results to mysqld's memory.

use std::ffi::{c_char, CStr};

/// A C string argument: `None` for NULL, `Err` for text that is not UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub unsafe fn opt_str<'a>(p: *const c_char) -> Result<Option<&'a str>, ()> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| ())
}

/// A C string where NULL means empty (MySQL's rule for auth_id).
///
/// # Safety
/// As for [`opt_str`].
pub unsafe fn str_or_empty<'a>(p: *const c_char) -> Result<&'a str, ()> {
    // SAFETY: forwarded contract.
    unsafe { opt_str(p) }.map(Option::unwrap_or_default)
}

/// A byte buffer argument; NULL is accepted only with length 0.
///
/// # Safety
/// `p` is NULL or points to `len` readable bytes that outlive the call.
pub unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        return (len == 0).then_some(&[]);
    }
    // SAFETY: non-NULL and `len` readable bytes per this function's contract.
    Some(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Writes `value` through `out` unless it is NULL; reports whether it wrote.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
pub unsafe fn write<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: non-NULL and writable per this function's contract.
    unsafe { out.write(value) };
    true
}

/// Copies `text` and a terminating NUL into `dst` of capacity `cap`; refuses when it does
/// not fit (`cap` must exceed the text length).
///
/// # Safety
/// `dst` is NULL or valid for `cap` bytes of writes.
pub unsafe fn copy_terminated(dst: *mut c_char, cap: usize, text: &[u8]) -> bool {
    if dst.is_null() || cap <= text.len() {
        return false;
    }
    // SAFETY: `dst` holds `cap` > text.len() bytes per this function's contract.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), dst.cast::<u8>(), text.len());
        dst.add(text.len()).write(0);
    }
    true
}
