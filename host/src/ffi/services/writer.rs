//! `keyring_writer`: store and remove, on the KMIP server first, then in the cache.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::{bytes, opt_str, str_or_empty};
use super::super::catalogue;
use super::super::component::{keep_left_objects_out, keyring};
use super::super::guard::guard;
use super::super::stack;
use super::{failed, not_initialized, refused};
use std::ffi::{c_char, c_uchar};

/// `store(data_id, auth_id, data, data_size, data_type)`.
///
/// # Safety
/// Strings are NULL or NUL-terminated; `data` holds `data_size` bytes.
pub unsafe extern "C" fn store(
    data_id: *const c_char,
    auth_id: *const c_char,
    data: *const c_uchar,
    data_size: usize,
    data_type: *const c_char,
) -> Status {
    guard(FAILED, || {
        let Some(keyring) = keyring() else {
            return not_initialized();
        };
        // SAFETY: caller's arguments, valid for the call.
        let args = unsafe {
            (
                opt_str(data_id),
                str_or_empty(auth_id),
                bytes(data, data_size),
                opt_str(data_type),
            )
        };
        let (Ok(Some(data_id)), Ok(auth_id), Some(data), Ok(Some(data_type))) = args else {
            return refused("store: a NULL or non-UTF-8 argument");
        };
        let text = catalogue::store_failed(data_id, auth_id);
        if let Err(e) = stack::check("store") {
            return refused(&catalogue::with_detail(&text, e));
        }
        match keyring.store(data_id, auth_id, data_type, data) {
            Ok(()) => OK,
            Err(e) => {
                keep_left_objects_out();
                failed(&text, &e)
            }
        }
    })
}

/// `remove(data_id, auth_id)`: fails for an absent key, as MySQL's reference code does.
///
/// # Safety
/// Strings are NULL or NUL-terminated.
pub unsafe extern "C" fn remove(data_id: *const c_char, auth_id: *const c_char) -> Status {
    guard(FAILED, || {
        let Some(keyring) = keyring() else {
            return not_initialized();
        };
        // SAFETY: caller's arguments, valid for the call.
        let (Ok(Some(data_id)), Ok(auth_id)) = (unsafe { opt_str(data_id) }, unsafe {
            str_or_empty(auth_id)
        }) else {
            return refused("remove: a NULL or non-UTF-8 argument");
        };
        let text = catalogue::remove_failed(data_id, auth_id);
        if let Err(e) = stack::check("remove") {
            return refused(&catalogue::with_detail(&text, e));
        }
        match keyring.remove(data_id, auth_id) {
            Ok(()) => OK,
            Err(e) => failed(&text, &e),
        }
    })
}
