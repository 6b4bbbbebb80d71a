//! `#[repr(C)]` mirrors of MySQL's component and service structures.

use std::ffi::{c_char, c_int, c_uchar, c_ulong, c_void};

/// `mysql_service_status_t`: 0 success, non-zero failure (except the inverted predicates).
pub type Status = c_int;
/// Success.
pub const OK: Status = 0;
/// Failure.
pub const FAILED: Status = 1;

/// An opaque handle (`my_h_*`).
pub type Handle = *mut c_void;

/// `mysql_service_ref_t`: one provided service.
#[repr(C)]
pub struct ServiceRef {
    pub name: *const c_char,
    pub implementation: *const c_void,
}

/// `mysql_service_placeholder_ref_t`: one required service.
#[repr(C)]
pub struct PlaceholderRef {
    pub name: *const c_char,
    pub implementation: *mut *mut c_void,
}

/// `mysql_metadata_ref_t`.
#[repr(C)]
pub struct MetadataRef {
    pub key: *const c_char,
    pub value: *const c_char,
}

/// `mysql_component_t`, 48 bytes.
#[repr(C)]
pub struct Component {
    pub name: *const c_char,
    pub provides: *const ServiceRef,
    pub requires: *const PlaceholderRef,
    pub metadata: *const MetadataRef,
    pub init: Option<unsafe extern "C" fn() -> Status>,
    pub deinit: Option<unsafe extern "C" fn() -> Status>,
}

// SAFETY: the descriptor and its arrays are immutable statics pointing at other statics;
// sharing them between threads is what mysqld does with every component.
unsafe impl Sync for ServiceRef {}
// SAFETY: as above; the placeholder targets are atomics written once by the loader.
unsafe impl Sync for PlaceholderRef {}
// SAFETY: as above.
unsafe impl Sync for MetadataRef {}
// SAFETY: as above.
unsafe impl Sync for Component {}

/// `keyring_reader_with_status`.
#[repr(C)]
pub struct ReaderService {
    pub init: unsafe extern "C" fn(*const c_char, *const c_char, *mut Handle) -> Status,
    pub deinit: unsafe extern "C" fn(Handle) -> Status,
    pub fetch_length: unsafe extern "C" fn(Handle, *mut usize, *mut usize) -> Status,
    pub fetch: unsafe extern "C" fn(
        Handle,
        *mut c_uchar,
        usize,
        *mut usize,
        *mut c_char,
        usize,
        *mut usize,
    ) -> Status,
}

/// `keyring_writer`.
#[repr(C)]
pub struct WriterService {
    pub store: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const c_uchar,
        usize,
        *const c_char,
    ) -> Status,
    pub remove: unsafe extern "C" fn(*const c_char, *const c_char) -> Status,
}

/// `keyring_generator`.
#[repr(C)]
pub struct GeneratorService {
    pub generate:
        unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, usize) -> Status,
}

/// `keyring_keys_metadata_iterator`.
#[repr(C)]
pub struct KeysIteratorService {
    pub init: unsafe extern "C" fn(*mut Handle) -> Status,
    pub deinit: unsafe extern "C" fn(Handle) -> Status,
    pub is_valid: unsafe extern "C" fn(Handle) -> Status,
    pub next: unsafe extern "C" fn(Handle) -> Status,
    pub get_length: unsafe extern "C" fn(Handle, *mut usize, *mut usize) -> Status,
    pub get: unsafe extern "C" fn(Handle, *mut c_char, usize, *mut c_char, usize) -> Status,
}

/// `keyring_component_status`.
#[repr(C)]
pub struct StatusService {
    pub is_initialized: unsafe extern "C" fn() -> Status,
}

/// `keyring_component_metadata_query`.
#[repr(C)]
pub struct MetadataQueryService {
    pub init: unsafe extern "C" fn(*mut Handle) -> Status,
    pub deinit: unsafe extern "C" fn(Handle) -> Status,
    pub is_valid: unsafe extern "C" fn(Handle) -> Status,
    pub next: unsafe extern "C" fn(Handle) -> Status,
    pub get_length: unsafe extern "C" fn(Handle, *mut usize, *mut usize) -> Status,
    pub get: unsafe extern "C" fn(Handle, *mut c_char, usize, *mut c_char, usize) -> Status,
}

/// `keyring_load`.
#[repr(C)]
pub struct LoadService {
    pub load: unsafe extern "C" fn(*const c_char, *const c_char) -> Status,
}

/// The AES encrypt/decrypt signature.
pub type AesFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const c_char,
    usize,
    *const c_uchar,
    c_int,
    *const c_uchar,
    usize,
    *mut c_uchar,
    usize,
    *mut usize,
) -> Status;

/// `keyring_aes`.
#[repr(C)]
pub struct AesService {
    pub get_size: unsafe extern "C" fn(usize, *const c_char, usize, *mut usize) -> Status,
    pub encrypt: AesFn,
    pub decrypt: AesFn,
}

/// `registry` (the first three methods are all we call).
#[repr(C)]
pub struct RegistryService {
    pub acquire: unsafe extern "C" fn(*const c_char, *mut Handle) -> Status,
    pub acquire_related: unsafe extern "C" fn(*const c_char, Handle, *mut Handle) -> Status,
    pub release: unsafe extern "C" fn(Handle) -> Status,
}

/// `mysql_simple_error_log` (MySQL 8.0.3x and later).
#[repr(C)]
pub struct SimpleErrorLogService {
    pub emit: unsafe extern "C" fn(
        component: *const c_char,
        file: *const c_char,
        line: c_ulong,
        severity: c_int,
        error_id: c_int,
        ...
    ) -> Status,
}
