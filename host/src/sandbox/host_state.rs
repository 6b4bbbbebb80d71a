//! The data each sandbox's store carries: what the guest's imports may touch, and nothing
//! else (no WASI context exists at all).

use crate::broker::Dialer;
use crate::log::LogSink;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;

/// State behind one guest instance.
pub struct HostState {
    /// Opens connections to the configured servers.
    pub(crate) dialer: Arc<dyn Dialer>,
    /// The guest's open connections.
    pub(crate) table: ResourceTable,
    /// How many connections the guest holds open.
    pub(crate) open_connections: usize,
    /// Where the guest's log lines go.
    pub(crate) log: Arc<dyn LogSink>,
    /// Memory and table caps.
    pub(crate) limits: StoreLimits,
}
