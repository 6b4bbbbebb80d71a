//! `keyring_keys_metadata_iterator`: a snapshot of key identities taken at `init`.
//! Lengths exclude the terminator; `is_valid` is non-zero while valid.

use super::super::abi::{Handle, Status, FAILED, OK};
use super::super::args::{copy_terminated_both, write_both};
use super::super::component::keyring;
use super::super::guard::guard;
use super::super::handles;
use crate::KeyId;
use std::ffi::c_char;

struct KeysIterator {
    ids: Vec<KeyId>,
    position: usize,
}

impl KeysIterator {
    fn current(&self) -> Option<&KeyId> {
        self.ids.get(self.position)
    }
}

fn iterator<'a>(handle: Handle) -> Option<&'a KeysIterator> {
    // SAFETY: mysqld passes back only handles this service handed out (the service
    // contract of every caller).
    unsafe { handles::borrow(handle) }
}

fn iterator_mut<'a>(handle: Handle) -> Option<&'a mut KeysIterator> {
    // SAFETY: as above, and one thread at a time per iterator (the service contract).
    unsafe { handles::borrow_mut(handle) }
}

/// `init(out)`.
///
/// # Safety
/// `out` is NULL or a valid handle slot.
pub unsafe extern "C" fn init(out: *mut Handle) -> Status {
    guard(FAILED, || {
        let Some(keyring) = keyring() else {
            return FAILED;
        };
        handles::hand_out(
            out,
            KeysIterator {
                ids: keyring.key_ids(),
                position: 0,
            },
        )
    })
}

/// `deinit(it)`.
///
/// # Safety
/// `it` came from `init` and is released once.
pub unsafe extern "C" fn deinit(handle: Handle) -> Status {
    guard(FAILED, || {
        // SAFETY: a handle from `init`, given back once (service contract).
        unsafe { handles::give_back::<KeysIterator>(handle) };
        OK
    })
}

/// `is_valid(it)`: non-zero while the iterator points at a key.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn is_valid(handle: Handle) -> Status {
    guard(0, || {
        iterator(handle).and_then(|it| it.current()).is_some() as Status
    })
}

/// `next(it)`: 0 when advanced (possibly onto the end), non-zero when already at the end.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn next(handle: Handle) -> Status {
    guard(FAILED, || match iterator_mut(handle) {
        Some(it) if it.position < it.ids.len() => {
            it.position += 1;
            OK
        }
        _ => FAILED,
    })
}

/// `get_length(it, data_id_len, auth_id_len)`: without terminators.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn get_length(
    handle: Handle,
    data_id_len: *mut usize,
    auth_id_len: *mut usize,
) -> Status {
    guard(FAILED, || {
        let Some(id) = iterator(handle).and_then(|it| it.current()) else {
            return FAILED;
        };
        // SAFETY: out pointers from the caller, NULL-checked by `write_both`.
        let wrote =
            unsafe { write_both(data_id_len, id.data_id.len(), auth_id_len, id.auth_id.len()) };
        if wrote {
            OK
        } else {
            FAILED
        }
    })
}

/// `get(it, data_id, data_id_len, auth_id, auth_id_len)`: NUL-terminated copies; each
/// buffer must be longer than its text.
///
/// # Safety
/// Buffers are valid for their stated lengths.
pub unsafe extern "C" fn get(
    handle: Handle,
    data_id: *mut c_char,
    data_id_len: usize,
    auth_id: *mut c_char,
    auth_id_len: usize,
) -> Status {
    guard(FAILED, || {
        let Some(id) = iterator(handle).and_then(|it| it.current()) else {
            return FAILED;
        };
        // SAFETY: buffers from the caller with their capacities.
        let copied = unsafe {
            copy_terminated_both(
                (data_id, data_id_len, id.data_id.as_bytes()),
                (auth_id, auth_id_len, id.auth_id.as_bytes()),
            )
        };
        if copied {
            OK
        } else {
            FAILED
        }
    })
}
