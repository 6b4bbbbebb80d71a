//! The TLS broker: owns the server list, the rustls client configuration and the sockets,
//! and opens connections for the guest by server index only. It builds without wasmtime:
//! the sandbox converts its errors to the guest's WIT types, and the command-line tool
//! drives the guest core natively over it.

#![forbid(unsafe_code)]

mod certificate;
mod connection;
mod dialer;
mod error;
mod handshake_failure;
mod health;
mod p521;
mod tls;
mod verifier;

pub use certificate::CertificateInfo;
pub use connection::BrokeredConnection;
pub use dialer::{Channel, Dialer};
pub use error::TransportError;
pub use health::{CallKind, Health};
pub use tls::{client_config, key_file_warning, provider, TlsSetupError};

use connection::Shared;

use kmip_keyring_config::{Config, ServerEndpoint};
use std::sync::Arc;
use std::time::Duration;

/// Default cap on one KMIP message, in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

/// Opens mutually authenticated TLS connections to the configured servers, skipping a
/// server in backoff while another is available.
#[derive(Clone)]
pub struct Broker {
    servers: Arc<[ServerEndpoint]>,
    shared: Arc<Shared>,
}

impl Broker {
    /// A broker for the configured servers; reads and checks the PEM files now, so that a
    /// bad certificate is reported at load time with the file and field it came from.
    pub fn from_config(config: &Config) -> Result<Self, TlsSetupError> {
        let health = Health::new(config.servers.iter().map(ToString::to_string).collect());
        let (tls, verifier) = tls::client_setup(config)?;
        Ok(Self {
            servers: config.servers.clone().into(),
            shared: Arc::new(Shared {
                tls,
                verifier,
                timeout: config.timeout,
                max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
                health: Arc::new(health),
                server_ca: config.server_ca.display().to_string(),
            }),
        })
    }

    /// The servers' health and the current call's budget.
    pub fn health(&self) -> &Health {
        &self.shared.health
    }

    /// The deadline of one step (`kmip_timeout_ms`).
    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// The configured servers, in order.
    pub fn servers(&self) -> &[ServerEndpoint] {
        &self.servers
    }

    /// Opens a connection to server `index`: TCP connect and the TLS handshake within one
    /// deadline. The index is checked before anything is dialled, and a server in backoff
    /// is refused at once while another server is available.
    pub fn open(&self, index: u32) -> Result<BrokeredConnection, TransportError> {
        let endpoint = self
            .servers
            .get(index as usize)
            .ok_or(TransportError::NoSuchServer(index))?;
        if let Some(reason) = self.shared.health.skip_reason(index as usize) {
            return Err(TransportError::Refused(reason));
        }
        BrokeredConnection::open(index, endpoint, self.shared.clone())
    }
}

impl Dialer for Broker {
    fn server_count(&self) -> u32 {
        self.servers.len() as u32
    }

    fn open(&self, index: u32) -> Result<Box<dyn Channel>, TransportError> {
        Broker::open(self, index).map(|c| Box::new(c) as Box<dyn Channel>)
    }
}
