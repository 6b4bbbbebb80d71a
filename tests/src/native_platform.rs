//! The guest's keyring core run natively over the host's TLS broker (the operator tool's
//! platform, `keyring_kmip::native`), and a dialer that counts the sandboxed guest's traffic
//! at the same level, for benchmarks against any server.

use component_keyring_kmip::broker::TransportError as BrokerError;
use component_keyring_kmip::broker::{Channel, Dialer};
use component_keyring_kmip::{LogLevel as HostLevel, LogSink};
pub use keyring_kmip::native::{Counters, Log, NativeConnection, NativePlatform, Traffic};
use kmip_keyring_core::LogLevel;
use std::sync::Arc;

/// The core's log lines into one of the host's log sinks.
pub fn log_to(sink: Arc<dyn LogSink>) -> Log {
    Arc::new(move |level, message: &str| {
        let level = match level {
            LogLevel::Error => HostLevel::Error,
            LogLevel::Warning => HostLevel::Warning,
            LogLevel::Info => HostLevel::Info,
            LogLevel::Debug => HostLevel::Debug,
        };
        sink.log(level, message);
    })
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
        self.counters.opened();
        Ok(Box::new(CountingChannel {
            inner,
            counters: self.counters.clone(),
        }))
    }
}
