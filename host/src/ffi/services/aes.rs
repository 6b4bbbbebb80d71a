//! `keyring_aes`: AES-256 with keys from the cache (see `crate::aes_modes`).

use super::super::abi::{Status, FAILED, OK};
use super::super::args::{bytes, opt_str, str_or_empty, write};
use super::super::catalogue;
use super::super::component::keyring;
use super::super::guard::guard;
use super::note;
use crate::aes_modes::{AesError, Mode};
use crate::{AesDirection, KeyringError};
use std::ffi::{c_char, c_int, c_uchar};

/// `get_size(input_length, mode, block_size, out_size)`.
///
/// # Safety
/// `mode` is NULL or NUL-terminated; `out_size` is NULL or writable.
pub unsafe extern "C" fn get_size(
    input_length: usize,
    mode: *const c_char,
    block_size: usize,
    out_size: *mut usize,
) -> Status {
    guard(FAILED, || {
        // SAFETY: caller's argument.
        let Ok(Some(mode)) = (unsafe { opt_str(mode) }) else {
            return FAILED;
        };
        let Ok(mode) = Mode::parse(mode, block_size) else {
            return FAILED;
        };
        let Some(size) = mode.output_size(input_length) else {
            return FAILED;
        };
        // SAFETY: out pointer from the caller.
        if unsafe { write(out_size, size) } {
            OK
        } else {
            FAILED
        }
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn run(
    direction: AesDirection,
    data_id: *const c_char,
    auth_id: *const c_char,
    mode: *const c_char,
    block_size: usize,
    iv: *const c_uchar,
    padding: c_int,
    input: *const c_uchar,
    input_len: usize,
    out: *mut c_uchar,
    out_len: usize,
    written: *mut usize,
) -> Status {
    guard(FAILED, || {
        let Some(keyring) = keyring() else {
            return super::not_initialized();
        };
        let api = match direction {
            AesDirection::Encrypt => "encrypt",
            AesDirection::Decrypt => "decrypt",
        };
        // SAFETY: caller's arguments; the IV is 16 bytes for every supported mode.
        let args = unsafe {
            (
                opt_str(data_id),
                str_or_empty(auth_id),
                opt_str(mode),
                bytes(iv, 16),
                bytes(input, input_len),
            )
        };
        let (Ok(data_id), Ok(auth_id), Ok(mode_name), Some(iv), Some(input)) = args else {
            return FAILED;
        };
        let Some(data_id) = data_id.filter(|d| !d.is_empty()) else {
            return note(catalogue::AES_DATA_ID_EMPTY);
        };
        let (Some(mode_name), Ok(mode)) = (
            mode_name,
            Mode::parse(mode_name.unwrap_or_default(), block_size),
        ) else {
            return note(catalogue::AES_INVALID_MODE);
        };
        let needed = match direction {
            AesDirection::Encrypt => mode.output_size(input_len),
            AesDirection::Decrypt => Some(input_len),
        };
        // Every check before the first write into mysqld's buffers.
        if out.is_null() || written.is_null() || needed.is_none_or(|n| out_len < n) {
            return FAILED;
        }
        let result = keyring.aes(
            direction,
            data_id,
            auth_id,
            mode_name,
            block_size,
            iv,
            padding != 0,
            input,
        );
        let output = match result {
            Ok(output) => output,
            Err(KeyringError::NotFound(_)) => {
                return note(&catalogue::not_found(data_id, auth_id));
            }
            Err(KeyringError::Aes(AesError::NotAesKey(_))) => {
                return note(&catalogue::not_aes(data_id, auth_id));
            }
            Err(e) => {
                return note(&catalogue::aes_failed(
                    &e.to_string(),
                    api,
                    data_id,
                    auth_id,
                ));
            }
        };
        if output.len() > out_len {
            return FAILED;
        }
        // SAFETY: `out` holds `out_len` >= output.len() bytes (checked).
        unsafe {
            std::ptr::copy_nonoverlapping(output.as_ptr(), out, output.len());
            write(written, output.len());
        }
        OK
    })
}

/// `encrypt(data_id, auth_id, mode, block_size, iv, padding, in, in_len, out, out_len, written)`.
///
/// # Safety
/// Buffers are valid for their stated lengths; the IV holds 16 bytes.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn encrypt(
    data_id: *const c_char,
    auth_id: *const c_char,
    mode: *const c_char,
    block_size: usize,
    iv: *const c_uchar,
    padding: c_int,
    input: *const c_uchar,
    input_len: usize,
    out: *mut c_uchar,
    out_len: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe {
        run(
            AesDirection::Encrypt,
            data_id,
            auth_id,
            mode,
            block_size,
            iv,
            padding,
            input,
            input_len,
            out,
            out_len,
            written,
        )
    }
}

/// `decrypt(...)`: same parameters as `encrypt`.
///
/// # Safety
/// As for `encrypt`.
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn decrypt(
    data_id: *const c_char,
    auth_id: *const c_char,
    mode: *const c_char,
    block_size: usize,
    iv: *const c_uchar,
    padding: c_int,
    input: *const c_uchar,
    input_len: usize,
    out: *mut c_uchar,
    out_len: usize,
    written: *mut usize,
) -> Status {
    // SAFETY: forwarded contract.
    unsafe {
        run(
            AesDirection::Decrypt,
            data_id,
            auth_id,
            mode,
            block_size,
            iv,
            padding,
            input,
            input_len,
            out,
            out_len,
            written,
        )
    }
}
