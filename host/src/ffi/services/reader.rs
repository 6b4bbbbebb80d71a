//! `keyring_reader_with_status`: reads from the cache; the object is one reference to the
//! cached key (no copy, no allocation), which a later remove or reload cannot free under it.

use super::super::abi::{Handle, Status, FAILED, OK};
use super::super::args::{opt_str, str_or_empty, write, write_both};
use super::super::catalogue;
use super::super::component::with_keyring;
use super::super::error_log;
use super::super::guard::guard;
use super::super::handles;
use crate::log::LogLevel;
use crate::CachedKey;
use std::ffi::{c_char, c_uchar};
use std::ptr::null_mut;

/// `init(data_id, auth_id, out)`: success + NULL when absent, success + object when found,
/// failure when the keyring is not loaded.
///
/// # Safety
/// Pointers are NULL or valid per the service contract.
pub unsafe extern "C" fn init(
    data_id: *const c_char,
    auth_id: *const c_char,
    out: *mut Handle,
) -> Status {
    guard(FAILED, || {
        // SAFETY: `out` is NULL or a valid handle slot per the contract.
        if !unsafe { write(out, null_mut()) } {
            return FAILED;
        }
        // SAFETY: C strings from the caller, valid for the call.
        let ids = match (unsafe { opt_str(data_id) }, unsafe {
            str_or_empty(auth_id)
        }) {
            (Ok(Some(data_id)), Ok(auth_id)) => Some((data_id, auth_id)),
            _ => None,
        };
        let Some(found) = with_keyring(|keyring| ids.and_then(|(d, a)| keyring.fetch(d, a))) else {
            return super::not_initialized();
        };
        if let Some(key) = found {
            return handles::hand_out_shared(out, key);
        }
        if let Some((data_id, auth_id)) = ids {
            error_log::emit(LogLevel::Info, &catalogue::not_found(data_id, auth_id));
        }
        OK
    })
}

/// `deinit(object)`: gives the reference back (the key is wiped when it was the last).
///
/// # Safety
/// `object` is NULL or came from `init` and is released once.
pub unsafe extern "C" fn deinit(object: Handle) -> Status {
    guard(FAILED, || {
        // SAFETY: an object from `init`, given back once (service contract).
        unsafe { handles::give_back_shared::<CachedKey>(object) };
        OK
    })
}

fn object<'a>(handle: Handle) -> Option<&'a CachedKey> {
    // SAFETY: mysqld passes back only objects `init` handed out (service contract).
    unsafe { handles::borrow_shared::<CachedKey>(handle) }
}

/// `fetch_length(object, data_size, type_size)`: lengths without terminators.
///
/// # Safety
/// As for every reader method.
pub unsafe extern "C" fn fetch_length(
    handle: Handle,
    data_size: *mut usize,
    type_size: *mut usize,
) -> Status {
    guard(FAILED, || {
        let Some(key) = object(handle) else {
            return FAILED;
        };
        // SAFETY: out pointers from the caller, NULL-checked by `write_both`.
        let wrote = unsafe { write_both(data_size, key.data.len(), type_size, key.key_type.len()) };
        if wrote {
            OK
        } else {
            FAILED
        }
    })
}

/// `fetch(object, data, data_len, data_size, type, type_len, type_size)`: fails when a
/// buffer is smaller than its content (a type buffer of exactly the type length is fine);
/// otherwise zero-fills both buffers and copies.
///
/// # Safety
/// `data_buf` is valid for `data_buf_len` bytes and `type_buf` for `type_buf_len` bytes.
pub unsafe extern "C" fn fetch(
    handle: Handle,
    data_buf: *mut c_uchar,
    data_buf_len: usize,
    data_size: *mut usize,
    type_buf: *mut c_char,
    type_buf_len: usize,
    type_size: *mut usize,
) -> Status {
    guard(FAILED, || {
        let Some(key) = object(handle) else {
            return FAILED;
        };
        let (data, ty) = (&key.data[..], key.key_type.as_bytes());
        // Every check before the first write: a refused call leaves mysqld's memory as
        // it was.
        if data_buf.is_null()
            || type_buf.is_null()
            || data_size.is_null()
            || type_size.is_null()
            || data_buf_len < data.len()
            || type_buf_len < ty.len()
        {
            return FAILED;
        }
        // SAFETY: both buffers are non-NULL and at least as long as the declared lengths,
        // which are at least the copied lengths, and both size pointers are non-NULL
        // (checked above).
        unsafe {
            std::ptr::write_bytes(data_buf, 0, data_buf_len);
            std::ptr::write_bytes(type_buf, 0, type_buf_len);
            std::ptr::copy_nonoverlapping(data.as_ptr(), data_buf, data.len());
            std::ptr::copy_nonoverlapping(ty.as_ptr(), type_buf.cast::<u8>(), ty.len());
            write_both(data_size, data.len(), type_size, ty.len());
        }
        OK
    })
}
