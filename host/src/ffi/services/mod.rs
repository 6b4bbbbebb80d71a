//! The eight keyring services, one file each.

pub mod aes;
pub mod generator;
pub mod keys_iterator;
pub mod load;
pub mod metadata_query;
pub mod reader;
pub mod status;
pub mod writer;

use super::{catalogue, error_log};
use crate::log::LogLevel;
use crate::KeyringError;

/// Logs why a call failed, MySQL's text for the situation first, at the level MySQL's
/// components use (Error when the key server or the sandbox failed); returns the failure
/// status.
pub(crate) fn failed(catalogue_text: &str, error: &KeyringError) -> super::abi::Status {
    error_log::emit(
        catalogue::level_of(error),
        &catalogue::with_detail(catalogue_text, error),
    );
    super::abi::FAILED
}

/// A call the component refuses before doing anything: logged at Error, failure status.
pub(crate) fn refused(message: &str) -> super::abi::Status {
    error_log::emit(LogLevel::Error, message);
    super::abi::FAILED
}

/// A call refused for a reason MySQL's components report as a Note: logged at
/// Information, failure status.
pub(crate) fn note(text: &str) -> super::abi::Status {
    error_log::emit(LogLevel::Info, text);
    super::abi::FAILED
}

/// A call before any successful load, as MySQL's components report it.
pub(crate) fn not_initialized() -> super::abi::Status {
    note(catalogue::NOT_INITIALIZED)
}
