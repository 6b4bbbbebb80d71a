//! The sandbox's own types for what crosses the guest boundary: the WIT-generated types
//! stay in `bindings`, and each is converted here, once.

use super::bindings::keyring as wit;
use super::bindings::transport::TransportError as WitTransportError;
use crate::broker::TransportError;
use zeroize::Zeroizing;

/// What the guest is configured with (the WIT `settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSettings {
    /// The KMIP Object Group every key is stored in and listed from.
    pub object_group: Option<String>,
    /// Unique identifiers asked for in one Locate request.
    pub locate_page_size: u32,
    /// Objects fetched in one batched request.
    pub fetch_batch_size: u32,
}

/// One key the guest returned; its bytes are zeroized when it is dropped.
#[derive(Debug)]
pub struct GuestKey {
    /// The KMIP unique identifier.
    pub object_id: String,
    /// MySQL's data_id (the KMIP Name).
    pub data_id: String,
    /// MySQL's auth_id (the owner), empty for the server's keys.
    pub auth_id: String,
    /// "AES" or "SECRET".
    pub key_type: String,
    /// The key bytes.
    pub data: Zeroizing<Vec<u8>>,
}

/// A KMIP operation the server refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    /// The KMIP operation, e.g. "Register".
    pub operation: String,
    /// The KMIP Result Reason, e.g. "ItemNotFound".
    pub reason: String,
    /// The server's Result Message, possibly empty.
    pub message: String,
}

/// A keyring error the guest reported (the WIT `keyring-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestError {
    /// A request no KMIP keyring accepts.
    InvalidArgument(String),
    /// The server refused an operation.
    ServerFailure(ServerFailure),
    /// The server's response is not what KMIP allows.
    MalformedResponse(String),
    /// The server cannot list every key, so a load would silently miss some.
    IncompleteListing(String),
    /// No server could carry the exchange.
    Transport(TransportError),
    /// The guest was called before it was configured.
    NotConfigured,
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use TransportError as T;
        match self {
            Self::InvalidArgument(m) => write!(f, "invalid request: {m}"),
            Self::ServerFailure(s) => {
                write!(f, "KMIP {} failed on the server: {}", s.operation, s.reason)?;
                if !s.message.is_empty() {
                    write!(f, " ({})", s.message)?;
                }
                Ok(())
            }
            Self::MalformedResponse(m) => write!(f, "malformed KMIP response: {m}"),
            Self::IncompleteListing(m) => write!(f, "the KMIP server cannot list every key: {m}"),
            Self::NotConfigured => f.write_str("the keyring guest was not configured"),
            Self::Transport(t) => match t {
                T::NoSuchServer(i) => write!(f, "no KMIP server is configured at index {i}"),
                T::Refused(m) => write!(f, "KMIP server unreachable: {m}"),
                T::Timeout(m) => write!(f, "KMIP server timed out: {m}"),
                T::TlsFailure(m) => write!(f, "TLS failure with the KMIP server: {m}"),
                T::Closed => f.write_str("the KMIP server closed the connection"),
                T::MessageTooLarge(n) => write!(f, "KMIP message larger than {n} bytes"),
                T::BadFraming(m) => write!(f, "not a KMIP message: {m}"),
                T::Io(m) => write!(f, "I/O error with the KMIP server: {m}"),
            },
        }
    }
}

/// The guest's session (the WIT `session-status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStatus {
    /// The configured index of the server in use, if connected.
    pub server_index: Option<u32>,
    /// The negotiated KMIP version, e.g. "1.4".
    pub protocol_version: Option<String>,
}

impl From<&GuestSettings> for wit::Settings {
    fn from(s: &GuestSettings) -> Self {
        Self {
            object_group: s.object_group.clone(),
            locate_page_size: s.locate_page_size,
            fetch_batch_size: s.fetch_batch_size,
        }
    }
}

impl From<wit::KeyEntry> for GuestKey {
    fn from(e: wit::KeyEntry) -> Self {
        Self {
            object_id: e.object_id,
            data_id: e.data_id,
            auth_id: e.auth_id,
            key_type: e.key_type,
            data: Zeroizing::new(e.data),
        }
    }
}

impl From<wit::KeyringError> for GuestError {
    fn from(e: wit::KeyringError) -> Self {
        use wit::KeyringError as W;
        match e {
            W::InvalidArgument(m) => Self::InvalidArgument(m),
            W::ServerFailure(s) => Self::ServerFailure(ServerFailure {
                operation: s.operation,
                reason: s.reason,
                message: s.message,
            }),
            W::MalformedResponse(m) => Self::MalformedResponse(m),
            W::IncompleteListing(m) => Self::IncompleteListing(m),
            W::Transport(t) => Self::Transport(from_wit_transport(t)),
            W::NotConfigured => Self::NotConfigured,
        }
    }
}

impl From<wit::SessionStatus> for SessionStatus {
    fn from(s: wit::SessionStatus) -> Self {
        Self {
            server_index: s.server_index,
            protocol_version: s.protocol_version,
        }
    }
}

/// The broker's error as the guest sees it.
pub(crate) fn to_wit_transport(e: TransportError) -> WitTransportError {
    use TransportError as T;
    use WitTransportError as W;
    match e {
        T::NoSuchServer(i) => W::NoSuchServer(i),
        T::Refused(m) => W::Refused(m),
        T::Timeout(m) => W::Timeout(m),
        T::TlsFailure(m) => W::TlsFailure(m),
        T::Closed => W::Closed,
        T::MessageTooLarge(n) => W::MessageTooLarge(n),
        T::BadFraming(m) => W::BadFraming(m),
        T::Io(m) => W::Io(m),
    }
}

/// A transport error the guest passed back inside a keyring error.
fn from_wit_transport(e: WitTransportError) -> TransportError {
    use TransportError as T;
    use WitTransportError as W;
    match e {
        W::NoSuchServer(i) => T::NoSuchServer(i),
        W::Refused(m) => T::Refused(m),
        W::Timeout(m) => T::Timeout(m),
        W::TlsFailure(m) => T::TlsFailure(m),
        W::Closed => T::Closed,
        W::MessageTooLarge(n) => T::MessageTooLarge(n),
        W::BadFraming(m) => T::BadFraming(m),
        W::Io(m) => T::Io(m),
    }
}
