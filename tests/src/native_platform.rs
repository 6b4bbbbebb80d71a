//! The guest's keyring core run natively over the host's TLS broker, counting every request message and byte, for benchmarks against any server.

use component_keyring_kmip::broker::TransportError as BrokerError;
use component_keyring_kmip::broker::{Broker, BrokeredConnection, Channel, Dialer};
use component_keyring_kmip::LogSink;
use kmip_keyring_core::{Connection, LogLevel, Platform, TransportError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Traffic counters shared by a platform or dialer and every connection it opened.
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

    fn sent(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn received(&self, bytes: usize) {
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// The host's transport error in the core's terms (the same variants on both sides of
/// the WIT contract).
fn to_core(e: BrokerError) -> TransportError {
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

/// A [`Platform`] over the host's [`Broker`]: the same TLS connections the sandbox's
/// transport imports hand the guest, without the sandbox.
pub struct NativePlatform {
    broker: Broker,
    counters: Arc<Counters>,
    log: Arc<dyn LogSink>,
}

impl NativePlatform {
    /// A platform dialling through `broker`, counting into `counters`, logging to `log`.
    pub fn new(broker: Broker, counters: Arc<Counters>, log: Arc<dyn LogSink>) -> Self {
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
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        Ok(NativeConnection {
            inner,
            counters: self.counters.clone(),
        })
    }

    fn log(&self, level: LogLevel, message: &str) {
        use component_keyring_kmip::LogLevel as Host;
        let level = match level {
            LogLevel::Error => Host::Error,
            LogLevel::Warning => Host::Warning,
            LogLevel::Info => Host::Info,
            LogLevel::Debug => Host::Debug,
        };
        self.log.log(level, message);
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        // The provider rustls already uses: the same OS source the sandbox's entropy
        // import draws from, without another dependency.
        rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(buf)
            .expect("the operating system's random source works");
    }
}

/// A [`Dialer`] that counts what passes through the channels of another, so the sandboxed
/// guest's traffic is measured at the same level as [`NativePlatform`]'s.
pub struct CountingDialer {
    inner: Arc<dyn Dialer>,
    counters: Arc<Counters>,
}

impl CountingDialer {
    /// Counts the traffic of `inner` into `counters`.
    pub fn new(inner: Arc<dyn Dialer>, counters: Arc<Counters>) -> Self {
        Self { inner, counters }
    }
}

struct CountingChannel {
    inner: Box<dyn Channel>,
    counters: Arc<Counters>,
}

impl Channel for CountingChannel {
    fn server_index(&self) -> u32 {
        self.inner.server_index()
    }

    fn send(&mut self, message: &[u8]) -> Result<(), BrokerError> {
        self.counters.sent(message.len());
        self.inner.send(message)
    }

    fn receive(&mut self) -> Result<Vec<u8>, BrokerError> {
        let message = self.inner.receive()?;
        self.counters.received(message.len());
        Ok(message)
    }
}

impl Dialer for CountingDialer {
    fn server_count(&self) -> u32 {
        self.inner.server_count()
    }

    fn open(&self, index: u32) -> Result<Box<dyn Channel>, BrokerError> {
        let inner = self.inner.open(index)?;
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(CountingChannel {
            inner,
            counters: self.counters.clone(),
        }))
    }
}
