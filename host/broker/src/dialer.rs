//! The seam between the guest's transport imports and the network: the TLS broker in
//! production, a scripted KMIP peer in sandboxed unit tests.

use crate::TransportError;

/// One open byte channel to a KMIP server that carries whole messages.
pub trait Channel: Send {
    /// The configured server index.
    fn server_index(&self) -> u32;
    /// Sends one complete request message.
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError>;
    /// Receives one complete response message.
    fn receive(&mut self) -> Result<Vec<u8>, TransportError>;
}

/// Opens channels to configured servers, by index only.
pub trait Dialer: Send + Sync {
    /// How many servers are configured.
    fn server_count(&self) -> u32;
    /// Opens a channel to server `index`; an index out of range is `no-such-server`.
    fn open(&self, index: u32) -> Result<Box<dyn Channel>, TransportError>;
}
