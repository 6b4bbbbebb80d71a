//! `keyring_component_metadata_query`: the status rows, built at `init`. Lengths include
//! the terminator (unlike the keys iterator).

use super::super::abi::{Handle, Status, FAILED, OK};
use super::super::args::{copy_terminated_both, write_both};
use super::super::component::keyring;
use super::super::guard::guard;
use super::super::handles;
use crate::status::status_rows;
use std::collections::VecDeque;
use std::ffi::{c_char, CString};

struct MetadataIterator(VecDeque<(CString, CString)>);

fn iterator<'a>(handle: Handle) -> Option<&'a MetadataIterator> {
    // SAFETY: mysqld passes back only handles this service handed out (the service
    // contract of every caller).
    unsafe { handles::borrow(handle) }
}

fn iterator_mut<'a>(handle: Handle) -> Option<&'a mut MetadataIterator> {
    // SAFETY: as above, and one thread at a time per iterator (the service contract).
    unsafe { handles::borrow_mut(handle) }
}

fn c(text: String) -> CString {
    CString::new(text.replace('\0', " ")).unwrap_or_default()
}

/// `init(out)`: works before any load (values then read `<NOT APPLICABLE>`).
///
/// # Safety
/// `out` is NULL or a valid handle slot.
pub unsafe extern "C" fn init(out: *mut Handle) -> Status {
    guard(FAILED, || {
        let keyring = keyring();
        let rows = status_rows(keyring.as_deref())
            .into_iter()
            .map(|(k, v)| (c(k), c(v)))
            .collect();
        handles::hand_out(out, MetadataIterator(rows))
    })
}

/// `deinit(it)`.
///
/// # Safety
/// `it` came from `init` and is released once.
pub unsafe extern "C" fn deinit(handle: Handle) -> Status {
    guard(FAILED, || {
        // SAFETY: a handle from `init`, given back once (service contract).
        unsafe { handles::give_back::<MetadataIterator>(handle) };
        OK
    })
}

/// `is_valid(it)`: non-zero while rows remain.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn is_valid(handle: Handle) -> Status {
    guard(0, || {
        iterator(handle).is_some_and(|it| !it.0.is_empty()) as Status
    })
}

/// `next(it)`: drops the current row.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn next(handle: Handle) -> Status {
    guard(FAILED, || {
        match iterator_mut(handle).and_then(|it| it.0.pop_front()) {
            Some(_) => OK,
            None => FAILED,
        }
    })
}

/// `get_length(it, key_len, value_len)`: lengths including the terminator.
///
/// # Safety
/// As for every iterator method.
pub unsafe extern "C" fn get_length(
    handle: Handle,
    key_len: *mut usize,
    value_len: *mut usize,
) -> Status {
    guard(FAILED, || {
        let Some((k, v)) = iterator(handle).and_then(|it| it.0.front()) else {
            return FAILED;
        };
        // SAFETY: out pointers from the caller, NULL-checked by `write_both`.
        let wrote = unsafe {
            write_both(
                key_len,
                k.as_bytes().len() + 1,
                value_len,
                v.as_bytes().len() + 1,
            )
        };
        if wrote {
            OK
        } else {
            FAILED
        }
    })
}

/// `get(it, key, key_len, value, value_len)`.
///
/// # Safety
/// Buffers are valid for their stated lengths.
pub unsafe extern "C" fn get(
    handle: Handle,
    key: *mut c_char,
    key_len: usize,
    value: *mut c_char,
    value_len: usize,
) -> Status {
    guard(FAILED, || {
        let Some((k, v)) = iterator(handle).and_then(|it| it.0.front()) else {
            return FAILED;
        };
        // SAFETY: buffers from the caller with their capacities.
        let copied = unsafe {
            copy_terminated_both(
                (key, key_len, k.as_bytes()),
                (value, value_len, v.as_bytes()),
            )
        };
        if copied {
            OK
        } else {
            FAILED
        }
    })
}
