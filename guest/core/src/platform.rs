//! What the keyring logic needs from its surroundings: a transport to configured servers,
//! a log, and entropy. In the sandbox these are the host's WIT imports.

use std::fmt;

/// Why a transport operation failed (mirrors the WIT `transport-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No server is configured at this index.
    NoSuchServer(u32),
    /// The server could not be reached.
    Refused(String),
    /// The host's deadline passed.
    Timeout(String),
    /// The TLS handshake or session failed.
    TlsFailure(String),
    /// The peer closed the connection.
    Closed,
    /// A message exceeded the host's size cap (bytes).
    MessageTooLarge(u32),
    /// The outermost TTLV header was not a KMIP message.
    BadFraming(String),
    /// Any other input/output failure.
    Io(String),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchServer(i) => write!(f, "no KMIP server is configured at index {i}"),
            Self::Refused(m) => write!(f, "connection refused: {m}"),
            Self::Timeout(m) => write!(f, "timed out: {m}"),
            Self::TlsFailure(m) => write!(f, "TLS failure: {m}"),
            Self::Closed => f.write_str("connection closed by the server"),
            Self::MessageTooLarge(cap) => write!(f, "message larger than the {cap}-byte cap"),
            Self::BadFraming(m) => write!(f, "not a KMIP message: {m}"),
            Self::Io(m) => write!(f, "I/O error: {m}"),
        }
    }
}

impl std::error::Error for TransportError {}

impl TransportError {
    /// Whether the connection is unusable afterwards and must be reopened.
    pub fn breaks_connection(&self) -> bool {
        !matches!(self, Self::NoSuchServer(_))
    }
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// An operation failed.
    Error,
    /// Unexpected, but the operation went on.
    Warning,
    /// Normal, noteworthy events.
    Info,
    /// Troubleshooting detail.
    Debug,
}

/// One open connection to a configured server. Dropping it closes it.
pub trait Connection {
    /// The configured server index this connection talks to.
    fn server_index(&self) -> u32;
    /// Sends one complete KMIP request message.
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError>;
    /// Receives one complete KMIP response message.
    fn receive(&mut self) -> Result<Vec<u8>, TransportError>;
}

/// The keyring logic's view of the world.
pub trait Platform {
    /// The connection type this platform opens.
    type Conn: Connection;
    /// How many servers are configured.
    fn server_count(&self) -> u32;
    /// Opens a connection to the configured server at `index`.
    fn open(&mut self, index: u32) -> Result<Self::Conn, TransportError>;
    /// Writes one log line. Never pass key material.
    fn log(&self, level: LogLevel, message: &str);
    /// Fills `buf` from a cryptographically secure source.
    fn random_bytes(&mut self, buf: &mut [u8]);
}
