//! `keyring_writer`: store and remove, on the KMIP server first, then in the cache.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::{bytes, opt_str, str_or_empty};
use super::super::component::keyring;
use super::super::guard::guard;
use super::super::stack;
use super::failed;
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
            return failed("store", "the keyring is not loaded");
        };
        if let Err(e) = stack::check("store") {
            return failed("store", e);
        }
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
            return failed("store", "missing or invalid argument");
        };
        match keyring.store(data_id, auth_id, data_type, data) {
            Ok(()) => OK,
            Err(e) => failed(&format!("storing '{data_id}'"), e),
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
            return failed("remove", "the keyring is not loaded");
        };
        if let Err(e) = stack::check("remove") {
            return failed("remove", e);
        }
        // SAFETY: caller's arguments, valid for the call.
        let (Ok(Some(data_id)), Ok(auth_id)) = (unsafe { opt_str(data_id) }, unsafe {
            str_or_empty(auth_id)
        }) else {
            return FAILED;
        };
        match keyring.remove(data_id, auth_id) {
            Ok(()) => OK,
            Err(crate::KeyringError::NotFound(_)) => FAILED,
            Err(e) => failed(&format!("removing '{data_id}'"), e),
        }
    })
}
