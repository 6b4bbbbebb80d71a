//! `Platform` over the host's WIT imports: transport, logging, entropy.

use crate::mysql::keyring_kmip::{entropy, logging, transport};
use kmip_keyring_core::{Connection, LogLevel, Platform, TransportError};

/// The host, as seen from inside the sandbox.
pub struct WitPlatform;

/// A host connection resource.
pub struct WitConnection(transport::Connection);

impl Connection for WitConnection {
    fn server_index(&self) -> u32 {
        self.0.server_index()
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.0.send(message).map_err(from_wit_transport_error)
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        self.0.receive().map_err(from_wit_transport_error)
    }
}

impl Platform for WitPlatform {
    type Conn = WitConnection;

    fn server_count(&self) -> u32 {
        transport::server_count()
    }

    fn open(&mut self, index: u32) -> Result<WitConnection, TransportError> {
        transport::open(index)
            .map(WitConnection)
            .map_err(from_wit_transport_error)
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Error => logging::Level::Error,
            LogLevel::Warning => logging::Level::Warning,
            LogLevel::Info => logging::Level::Info,
            LogLevel::Debug => logging::Level::Debug,
        };
        logging::log(level, message);
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        let bytes = zeroize::Zeroizing::new(entropy::random_bytes(buf.len() as u32));
        // The host promises exactly `len` bytes; a short answer is a broken invariant.
        assert_eq!(
            bytes.len(),
            buf.len(),
            "host returned the wrong number of random bytes"
        );
        buf.copy_from_slice(&bytes);
    }
}

fn from_wit_transport_error(e: transport::TransportError) -> TransportError {
    use transport::TransportError as W;
    match e {
        W::NoSuchServer(i) => TransportError::NoSuchServer(i),
        W::Refused(m) => TransportError::Refused(m),
        W::Timeout(m) => TransportError::Timeout(m),
        W::TlsFailure(m) => TransportError::TlsFailure(m),
        W::Closed => TransportError::Closed,
        W::MessageTooLarge(n) => TransportError::MessageTooLarge(n),
        W::BadFraming(m) => TransportError::BadFraming(m),
        W::Io(m) => TransportError::Io(m),
    }
}

/// The core's transport error as the exported WIT variant.
pub fn to_wit_transport_error(e: TransportError) -> transport::TransportError {
    use transport::TransportError as W;
    match e {
        TransportError::NoSuchServer(i) => W::NoSuchServer(i),
        TransportError::Refused(m) => W::Refused(m),
        TransportError::Timeout(m) => W::Timeout(m),
        TransportError::TlsFailure(m) => W::TlsFailure(m),
        TransportError::Closed => W::Closed,
        TransportError::MessageTooLarge(n) => W::MessageTooLarge(n),
        TransportError::BadFraming(m) => W::BadFraming(m),
        TransportError::Io(m) => W::Io(m),
    }
}
