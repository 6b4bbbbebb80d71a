//! The errors a keyring operation reports (the adapter turns them into the WIT
//! `keyring-error`).

use crate::kmip::ResultReason;
use crate::platform::TransportError;
use kmip_protocol::types::common::Operation;
use std::fmt;
use thiserror::Error;

/// A failed KMIP operation as the server reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    /// The KMIP operation.
    pub operation: Operation,
    /// The KMIP Result Reason; `None` when the server sent a failure without one.
    pub reason: Option<ResultReason>,
    /// The server's Result Message, or empty.
    pub message: String,
}

impl ServerFailure {
    /// Whether the server gave this reason.
    pub fn is(&self, reason: ResultReason) -> bool {
        self.reason == Some(reason)
    }

    /// The reason as reported in messages and across the WIT boundary.
    pub fn reason_text(&self) -> String {
        self.reason
            .map_or_else(|| "OperationFailed".to_owned(), |r| r.to_string())
    }
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KMIP {:?} failed on the server: {}",
            self.operation,
            self.reason_text()
        )?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

/// Why a keyring operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyringError {
    /// The request is invalid: unsupported key type, bad length, empty id.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The KMIP server answered with a failure result.
    #[error("{0}")]
    ServerFailure(ServerFailure),
    /// The server's answer could not be decoded or does not fit the request.
    #[error("malformed KMIP response: {0}")]
    MalformedResponse(String),
    /// The server's answers cannot be trusted to list every key: the load refuses rather
    /// than report success with keys missing.
    #[error("incomplete KMIP listing: {0}")]
    IncompleteListing(String),
    /// The transport failed.
    #[error("KMIP transport: {0}")]
    Transport(#[from] TransportError),
    /// `configure` was not called first.
    #[error("the keyring guest was not configured")]
    NotConfigured,
}

impl KeyringError {
    /// The server's failure, if this is one.
    pub fn server_failure(&self) -> Option<&ServerFailure> {
        match self {
            Self::ServerFailure(f) => Some(f),
            _ => None,
        }
    }

    /// Whether the server said the object is gone (see [`ResultReason::means_gone`]).
    pub fn means_gone(&self) -> bool {
        self.server_failure()
            .and_then(|f| f.reason)
            .is_some_and(ResultReason::means_gone)
    }
}
