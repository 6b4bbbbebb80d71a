//! Reading arguments from and writing results to mysqld's memory.

use std::ffi::{c_char, CStr};

/// A C string argument that names a path: `None` for NULL. Unix paths are bytes, so a
/// directory whose name is not UTF-8 is still a directory.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub unsafe fn opt_path<'a>(p: *const c_char) -> Option<&'a std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    Some(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)))
}

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

/// Writes both values, or neither when either pointer is NULL.
///
/// # Safety
/// Each pointer is NULL or valid for a write of its type.
pub unsafe fn write_both<A, B>(a: *mut A, value_a: A, b: *mut B, value_b: B) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    // SAFETY: both non-NULL and writable per this function's contract.
    unsafe { write(a, value_a) && write(b, value_b) }
}

/// Whether `text` and its terminating NUL fit a buffer `dst` of capacity `cap`.
pub fn fits_terminated(dst: *const c_char, cap: usize, text: &[u8]) -> bool {
    !dst.is_null() && cap > text.len()
}

/// Copies two texts, each with a terminating NUL, into their buffers; writes nothing when
/// either does not fit.
///
/// # Safety
/// Each buffer is NULL or valid for its capacity in bytes of writes.
pub unsafe fn copy_terminated_both(
    (dst_a, cap_a, a): (*mut c_char, usize, &[u8]),
    (dst_b, cap_b, b): (*mut c_char, usize, &[u8]),
) -> bool {
    if !fits_terminated(dst_a, cap_a, a) || !fits_terminated(dst_b, cap_b, b) {
        return false;
    }
    // SAFETY: both fit (checked), per this function's contract.
    unsafe { copy_terminated(dst_a, cap_a, a) && copy_terminated(dst_b, cap_b, b) }
}

/// Copies `text` and a terminating NUL into `dst` of capacity `cap`; refuses when it does
/// not fit (`cap` must exceed the text length).
///
/// # Safety
/// `dst` is NULL or valid for `cap` bytes of writes.
pub unsafe fn copy_terminated(dst: *mut c_char, cap: usize, text: &[u8]) -> bool {
    if !fits_terminated(dst, cap, text) {
        return false;
    }
    // SAFETY: `dst` holds `cap` > text.len() bytes per this function's contract.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), dst.cast::<u8>(), text.len());
        dst.add(text.len()).write(0);
    }
    true
}
