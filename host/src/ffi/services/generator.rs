//! `keyring_generator`: random key material, stored like `store`.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::{opt_str, str_or_empty};
use super::super::component::keyring;
use super::super::guard::guard;
use super::super::stack;
use super::failed;
use std::ffi::c_char;

/// `generate(data_id, auth_id, data_type, data_size)`.
///
/// # Safety
/// Strings are NULL or NUL-terminated.
pub unsafe extern "C" fn generate(
    data_id: *const c_char,
    auth_id: *const c_char,
    data_type: *const c_char,
    data_size: usize,
) -> Status {
    guard(FAILED, || {
        let Some(keyring) = keyring() else {
            return failed("generate", "the keyring is not loaded");
        };
        if let Err(e) = stack::check("generate") {
            return failed("generate", e);
        }
        // SAFETY: caller's arguments, valid for the call.
        let args = unsafe { (opt_str(data_id), str_or_empty(auth_id), opt_str(data_type)) };
        let (Ok(Some(data_id)), Ok(auth_id), Ok(Some(data_type))) = args else {
            return failed("generate", "missing or invalid argument");
        };
        match keyring.generate(data_id, auth_id, data_type, data_size) {
            Ok(()) => OK,
            Err(e) => failed(&format!("generating '{data_id}'"), e),
        }
    })
}
