//! MySQL's component ABI, declared here from the reference independently of the
//! component's own types (x86-64 LP64 layouts).

use std::ffi::{c_char, c_int, c_uchar, c_ulong, c_void};

pub type Status = c_int;
pub type Handle = *mut c_void;

#[repr(C)]
pub struct ServiceRef {
    pub name: *const c_char,
    pub implementation: *const c_void,
}

#[repr(C)]
pub struct PlaceholderRef {
    pub name: *const c_char,
    pub implementation: *mut *const c_void,
}

#[repr(C)]
pub struct MetadataRef {
    pub key: *const c_char,
    pub value: *const c_char,
}

#[repr(C)]
pub struct ComponentDescriptor {
    pub name: *const c_char,
    pub provides: *const ServiceRef,
    pub requires: *const PlaceholderRef,
    pub metadata: *const MetadataRef,
    pub init: Option<unsafe extern "C" fn() -> Status>,
    pub deinit: Option<unsafe extern "C" fn() -> Status>,
}

#[repr(C)]
pub struct Reader {
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

#[repr(C)]
pub struct Writer {
    pub store: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        *const c_uchar,
        usize,
        *const c_char,
    ) -> Status,
    pub remove: unsafe extern "C" fn(*const c_char, *const c_char) -> Status,
}

#[repr(C)]
pub struct Generator {
    pub generate:
        unsafe extern "C" fn(*const c_char, *const c_char, *const c_char, usize) -> Status,
}

/// Shared by the keys iterator and the metadata query (same shape, different length rules).
#[repr(C)]
pub struct Iterator6 {
    pub init: unsafe extern "C" fn(*mut Handle) -> Status,
    pub deinit: unsafe extern "C" fn(Handle) -> Status,
    pub is_valid: unsafe extern "C" fn(Handle) -> Status,
    pub next: unsafe extern "C" fn(Handle) -> Status,
    pub get_length: unsafe extern "C" fn(Handle, *mut usize, *mut usize) -> Status,
    pub get: unsafe extern "C" fn(Handle, *mut c_char, usize, *mut c_char, usize) -> Status,
}

#[repr(C)]
pub struct ComponentStatus {
    pub is_initialized: unsafe extern "C" fn() -> Status,
}

#[repr(C)]
pub struct Load {
    pub load: unsafe extern "C" fn(*const c_char, *const c_char) -> Status,
}

pub type AesCrypt = unsafe extern "C" fn(
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

#[repr(C)]
pub struct Aes {
    pub get_size: unsafe extern "C" fn(usize, *const c_char, usize, *mut usize) -> Status,
    pub encrypt: AesCrypt,
    pub decrypt: AesCrypt,
}

#[repr(C)]
pub struct Registry {
    pub acquire: unsafe extern "C" fn(*const c_char, *mut Handle) -> Status,
    pub acquire_related: unsafe extern "C" fn(*const c_char, Handle, *mut Handle) -> Status,
    pub release: unsafe extern "C" fn(Handle) -> Status,
}

/// `mysql_simple_error_log`. The real `emit` is variadic; a test callee cannot be, so it
/// takes the one `%s` argument our component passes as a sixth fixed parameter, which the
/// x86-64 System V calling convention passes in the same register either way.
#[repr(C)]
pub struct SimpleErrorLog {
    pub emit: unsafe extern "C" fn(
        *const c_char,
        *const c_char,
        c_ulong,
        c_int,
        c_int,
        *const c_char,
    ) -> Status,
}
