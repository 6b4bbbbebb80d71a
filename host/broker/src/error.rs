//! Why a connection to a KMIP server could not be opened or used.

use thiserror::Error;

/// A transport failure, in the broker's own terms; the sandbox converts it to the WIT
/// `transport-error` once, in its transport import.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    /// No server is configured at this index.
    #[error("no server at index {0}")]
    NoSuchServer(u32),
    /// The server could not be reached, or is in backoff.
    #[error("refused ({0})")]
    Refused(String),
    /// A step did not complete within `kmip_timeout_ms`.
    #[error("timed out ({0})")]
    Timeout(String),
    /// The TLS handshake or a TLS record failed.
    #[error("TLS failure ({0})")]
    TlsFailure(String),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// A message exceeded the cap, in bytes.
    #[error("a message exceeded {0} bytes")]
    MessageTooLarge(u32),
    /// What arrived is not a KMIP message.
    #[error("not a KMIP message ({0})")]
    BadFraming(String),
    /// Any other I/O error.
    #[error("I/O error ({0})")]
    Io(String),
}
