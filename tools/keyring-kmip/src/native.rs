//! The guest's keyring core run natively over the component's TLS broker: the same KMIP
//! and the same TLS as inside mysqld, without the sandbox.

use kmip_keyring_broker::{Broker, BrokeredConnection, TransportError as BrokerError};
use kmip_keyring_core::{Connection, LogLevel, Platform, TransportError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where the core's log lines go.
pub type Log = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Request messages and bytes through a platform's connections.
#[derive(Debug, Default)]
pub struct Counters {
    /// TLS connections opened.
    pub connections: AtomicU64,
    /// Request messages sent (each one a round trip).
    pub messages: AtomicU64,
    /// KMIP bytes sent.
    pub bytes_sent: AtomicU64,
    /// KMIP bytes received.
    pub bytes_received: AtomicU64,
}

/// The broker's transport error in the core's terms (the same variants on both sides).
pub fn to_core(e: BrokerError) -> TransportError {
    match e {
        BrokerError::NoSuchServer(i) => TransportError::NoSuchServer(i),
        BrokerError::Refused(m) => TransportError::Refused(m),
        BrokerError::Timeout(m) => TransportError::Timeout(m),
        BrokerError::TlsFailure(m) => TransportError::TlsFailure(m),
        BrokerError::Closed => TransportError::Closed,
        BrokerError::MessageTooLarge(n) => TransportError::MessageTooLarge(n),
        BrokerError::BadFraming(m) => TransportError::BadFraming(m),
        BrokerError::Io(m) => TransportError::Io(m),
    }
}

/// A [`Platform`] over a [`Broker`].
pub struct NativePlatform {
    broker: Broker,
    counters: Arc<Counters>,
    log: Log,
}

impl NativePlatform {
    /// A platform dialling through `broker`, counting into `counters`, logging to `log`.
    pub fn new(broker: Broker, counters: Arc<Counters>, log: Log) -> Self {
        Self {
            broker,
            counters,
            log,
        }
    }

    /// The counters this platform and its connections update.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// One brokered TLS connection, counted.
pub struct NativeConnection {
    inner: BrokeredConnection,
    counters: Arc<Counters>,
}

impl Connection for NativeConnection {
    fn server_index(&self) -> u32 {
        self.inner.server_index()
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.counters.messages.fetch_add(1, Ordering::Relaxed);
        self.counters
            .bytes_sent
            .fetch_add(message.len() as u64, Ordering::Relaxed);
        self.inner.send(message).map_err(to_core)
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        let message = self.inner.receive().map_err(to_core)?;
        self.counters
            .bytes_received
            .fetch_add(message.len() as u64, Ordering::Relaxed);
        Ok(message)
    }
}

impl Platform for NativePlatform {
    type Conn = NativeConnection;

    fn server_count(&self) -> u32 {
        self.broker.servers().len() as u32
    }

    fn open(&mut self, index: u32) -> Result<NativeConnection, TransportError> {
        let inner = self.broker.open(index).map_err(to_core)?;
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        Ok(NativeConnection {
            inner,
            counters: self.counters.clone(),
        })
    }

    fn log(&self, level: LogLevel, message: &str) {
        (self.log)(level, message);
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        // The provider rustls already uses: the operating system's random source.
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(buf)
            .expect("the operating system's random source works");
    }
}
