//! `keyring_generator`: random key material, stored like `store`.

use super::super::abi::{Status, FAILED, OK};
use super::super::args::{opt_str, str_or_empty};
use super::super::catalogue;
use super::super::component::{keep_left_objects_out, keyring};
use super::super::guard::guard;
use super::super::stack;
use super::{failed, not_initialized, refused};
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
            return not_initialized();
        };
        // SAFETY: caller's arguments, valid for the call.
        let args = unsafe { (opt_str(data_id), str_or_empty(auth_id), opt_str(data_type)) };
        let (Ok(Some(data_id)), Ok(auth_id), Ok(Some(data_type))) = args else {
            return refused("generate: a NULL or non-UTF-8 argument");
        };
        let text = catalogue::generate_failed(data_id, auth_id);
        if let Err(e) = stack::check("generate") {
            return refused(&catalogue::with_detail(&text, e));
        }
        match keyring.generate(data_id, auth_id, data_type, data_size) {
            Ok(()) => OK,
            Err(e) => {
                keep_left_objects_out();
                failed(&text, &e)
            }
        }
    })
}
