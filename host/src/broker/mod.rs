//! The TLS broker: owns the server list, the rustls client configuration and the sockets,
//! and opens connections for the guest by server index only.

mod connection;
mod dialer;
mod tls;

pub use connection::BrokeredConnection;
pub use dialer::{Channel, Dialer, GuestConnection};
pub use tls::{client_config, TlsSetupError};

use crate::config::{Config, ServerEndpoint};
use crate::sandbox::bindings::transport::TransportError;
use std::sync::Arc;
use std::time::Duration;

/// Default cap on one KMIP message, in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

/// Opens mutually authenticated TLS connections to the configured servers.
#[derive(Clone)]
pub struct Broker {
    servers: Arc<[ServerEndpoint]>,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    max_message_bytes: u32,
}

impl Broker {
    /// A broker for the configured servers; reads and checks the PEM files now, so that a
    /// bad certificate is reported at load time with the file and field it came from.
    pub fn from_config(config: &Config) -> Result<Self, TlsSetupError> {
        Ok(Self {
            servers: config.servers.clone().into(),
            tls: client_config(config)?,
            timeout: config.timeout,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        })
    }

    /// The configured servers, in order.
    pub fn servers(&self) -> &[ServerEndpoint] {
        &self.servers
    }

    /// Opens a connection to server `index`: TCP connect and the TLS handshake, each
    /// bounded by the configured timeout. The index is checked before anything is dialled.
    pub fn open(&self, index: u32) -> Result<BrokeredConnection, TransportError> {
        let endpoint = self
            .servers
            .get(index as usize)
            .ok_or(TransportError::NoSuchServer(index))?;
        BrokeredConnection::open(
            index,
            endpoint,
            self.tls.clone(),
            self.timeout,
            self.max_message_bytes,
        )
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
