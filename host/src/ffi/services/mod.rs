//! The eight keyring services, one file each.

pub mod aes;
pub mod generator;
pub mod keys_iterator;
pub mod load;
pub mod metadata_query;
pub mod reader;
pub mod status;
pub mod writer;

use super::error_log;
use crate::log::LogLevel;

/// Logs why a call failed and returns the failure status.
pub(crate) fn failed(operation: &str, error: impl std::fmt::Display) -> super::abi::Status {
    error_log::emit(LogLevel::Error, &format!("{operation} failed: {error}"));
    super::abi::FAILED
}
