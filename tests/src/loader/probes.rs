//! Calls mysqld never makes but a C ABI must survive: NULL out-parameters, buffers that
//! fit one output and not the other, sizes that overflow. Each probe fills every buffer
//! and out-parameter with a sentinel first and reports whether any of them changed.

use super::abi::Handle;
use super::LoadedComponent;
use std::ffi::CString;
use std::ptr::{null, null_mut};

const SENTINEL: usize = 0x5EED_5EED;
const BYTE: u8 = 0xEE;

/// What the probes saw: `(status, whether anything of the caller's was written)` each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    /// reader `fetch_length` with a NULL type-size pointer.
    pub fetch_length_null_type_size: (i32, bool),
    /// reader `fetch` with a NULL data-size pointer.
    pub fetch_null_data_size: (i32, bool),
    /// keys iterator `get_length` with a NULL auth-id-length pointer.
    pub keys_get_length_null: (i32, bool),
    /// keys iterator `get` whose auth-id buffer is too small (the data-id one fits).
    pub keys_get_second_too_small: (i32, bool),
    /// metadata query `get` whose value buffer is too small.
    pub metadata_get_second_too_small: (i32, bool),
    /// `keyring_aes.get_size` for a CBC input of `usize::MAX` bytes.
    pub aes_get_size_overflow: (i32, bool),
    /// `keyring_aes.encrypt` with a NULL written pointer.
    pub aes_encrypt_null_written: (i32, bool),
}

impl LoadedComponent {
    /// Runs every probe against the key `data_id` (an AES key, owner-less, which must be
    /// the first key the iterator lists).
    pub fn abi_probes(&self, data_id: &str) -> Probes {
        let id = CString::new(data_id).expect("no NUL");
        let r = self.bound.reader;
        let mut object: Handle = null_mut();
        // SAFETY: bound services; every pointer is NULL or valid for what it is passed as.
        unsafe {
            assert_eq!(((*r).init)(id.as_ptr(), null(), &mut object), 0);
            assert!(!object.is_null(), "{data_id} exists");
            let mut data_size = SENTINEL;
            let s1 = ((*r).fetch_length)(object, &mut data_size, null_mut());
            let fetch_length_null_type_size = (s1, data_size != SENTINEL);

            let mut data = [BYTE; 64];
            let mut ty = [BYTE; 16];
            let mut type_size = SENTINEL;
            let s2 = ((*r).fetch)(
                object,
                data.as_mut_ptr(),
                data.len(),
                null_mut(),
                ty.as_mut_ptr().cast(),
                ty.len(),
                &mut type_size,
            );
            let fetch_null_data_size = (
                s2,
                data.iter().chain(&ty).any(|b| *b != BYTE) || type_size != SENTINEL,
            );
            ((*r).deinit)(object);

            let keys = self.bound.keys;
            let mut it: Handle = null_mut();
            assert_eq!(((*keys).init)(&mut it), 0);
            let mut data_id_len = SENTINEL;
            let s3 = ((*keys).get_length)(it, &mut data_id_len, null_mut());
            let keys_get_length_null = (s3, data_id_len != SENTINEL);
            let mut name = [BYTE as std::ffi::c_char; 256];
            let mut owner = [BYTE as std::ffi::c_char; 1];
            // The owner is empty, so even a one-byte buffer fits it: use zero.
            let s4 = ((*keys).get)(it, name.as_mut_ptr(), name.len(), owner.as_mut_ptr(), 0);
            let keys_get_second_too_small =
                (s4, name.iter().chain(&owner).any(|b| *b as u8 != BYTE));
            ((*keys).deinit)(it);

            let metadata = self.bound.metadata;
            assert_eq!(((*metadata).init)(&mut it), 0);
            let mut key = [BYTE as std::ffi::c_char; 64];
            let mut value = [BYTE as std::ffi::c_char; 1];
            let s5 = ((*metadata).get)(it, key.as_mut_ptr(), key.len(), value.as_mut_ptr(), 1);
            let metadata_get_second_too_small =
                (s5, key.iter().chain(&value).any(|b| *b as u8 != BYTE));
            ((*metadata).deinit)(it);

            let aes = self.bound.aes;
            let cbc = CString::new("cbc").expect("no NUL");
            let mut size = SENTINEL;
            let s6 = ((*aes).get_size)(usize::MAX, cbc.as_ptr(), 256, &mut size);
            let aes_get_size_overflow = (s6, size != SENTINEL);

            let iv = [0u8; 16];
            let input = [1u8; 32];
            let mut out = [BYTE; 64];
            let s7 = ((*aes).encrypt)(
                id.as_ptr(),
                null(),
                cbc.as_ptr(),
                256,
                iv.as_ptr(),
                1,
                input.as_ptr(),
                input.len(),
                out.as_mut_ptr(),
                out.len(),
                null_mut(),
            );
            let aes_encrypt_null_written = (s7, out.iter().any(|b| *b != BYTE));
            Probes {
                fetch_length_null_type_size,
                fetch_null_data_size,
                keys_get_length_null,
                keys_get_second_too_small,
                metadata_get_second_too_small,
                aes_get_size_overflow,
                aes_encrypt_null_written,
            }
        }
    }

    /// `keyring_load.load` with directory names given as bytes (not necessarily UTF-8).
    pub fn keyring_load_bytes(&self, plugin_dir: &[u8], data_dir: &[u8]) -> bool {
        let (p, d) = (
            CString::new(plugin_dir).expect("no NUL"),
            CString::new(data_dir).expect("no NUL"),
        );
        // SAFETY: bound service; NUL-terminated arguments.
        unsafe { ((*self.bound.load).load)(p.as_ptr(), d.as_ptr()) == 0 }
    }
}
