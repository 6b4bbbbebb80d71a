//! The guest's keyring core run natively over the component's TLS broker: the same KMIP
//! and the same TLS as inside mysqld, without the sandbox, counting every message and
//! byte (the tool's checks, and the benchmark's native rows).

use kmip_keyring_broker::{Broker, BrokeredConnection, TransportError as BrokerError};
use kmip_keyring_core::{Connection, LogLevel, Platform, TransportError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where the core's log lines go.
pub type Log = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Traffic counters shared by a platform (or a test's counting dialer) and every
/// connection it opened.
#[derive(Debug, Default)]
pub struct Counters {
    connections: AtomicU64,
    messages: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// TLS connections opened (each one a TCP and TLS handshake).
    pub connections: u64,
    /// Request messages sent: each one is a round trip, as KMIP answers every request.
    pub messages: u64,
    /// KMIP bytes sent (TTLV, without TLS framing).
    pub bytes_sent: u64,
    /// KMIP bytes received.
    pub bytes_received: u64,
}

impl Counters {
    /// New counters behind an `Arc`, all zero.
    pub fn shared() -> Arc<Self> {
        Arc::default()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> Traffic {
        Traffic {
            connections: self.connections.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        for counter in [
            &self.connections,
            &self.messages,
            &self.bytes_sent,
            &self.bytes_received,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Counts one opened connection.
    pub fn opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request message of `bytes`.
    pub fn sent(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts `bytes` of a response.
    pub fn received(&self, bytes: usize) {
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
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
        self.counters.sent(message.len());
        self.inner.send(message).map_err(to_core)
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        let message = self.inner.receive().map_err(to_core)?;
        self.counters.received(message.len());
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
        self.counters.opened();
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
