//! The errors a keyring operation reports (mirrors the WIT `keyring-error`).

use crate::platform::TransportError;
use thiserror::Error;

/// A failed KMIP operation as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    /// The KMIP operation, e.g. "Register".
    pub operation: String,
    /// The KMIP Result Reason, e.g. "ItemNotFound".
    pub reason: String,
    /// The server's Result Message, or empty.
    pub message: String,
}

/// Why a keyring operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyringError {
    /// The request is invalid: unsupported key type, bad length, empty id.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The KMIP server answered with a failure result.
    #[error("KMIP {} failed on the server: {} ({})", .0.operation, .0.reason, .0.message)]
    ServerFailure(ServerFailure),
    /// The server's answer could not be decoded or does not fit the request.
    #[error("malformed KMIP response: {0}")]
    MalformedResponse(String),
    /// The transport failed.
    #[error("KMIP transport: {0}")]
    Transport(#[from] TransportError),
    /// `configure` was not called first.
    #[error("the keyring guest was not configured")]
    NotConfigured,
}
