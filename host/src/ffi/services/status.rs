//! `keyring_component_status`.

use super::super::abi::Status;
use super::super::component::keyring;
use super::super::guard::guard;

/// `is_initialized()`: non-zero once a load has succeeded.
///
/// # Safety
/// No arguments.
pub unsafe extern "C" fn is_initialized() -> Status {
    guard(0, || keyring().is_some() as Status)
}
