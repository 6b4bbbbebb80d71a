//! The data each sandbox's store carries: what the guest's imports may touch, and nothing
//! else (no WASI context exists at all).

use super::budget::CallBudget;
use crate::broker::Dialer;
use crate::log::LogSink;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use wasmtime::component::ResourceTable;

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
    pub(crate) limits: GuestLimiter,
    /// What the current call may still ask of the host.
    pub(crate) budget: CallBudget,
    /// Complete KMIP responses received, ever: a load's fuel is renewed while it grows.
    pub(crate) responses: Arc<AtomicU64>,
}

impl HostState {
    /// Counts one import that hands `bytes` to the host; past a cap, the call traps.
    pub(crate) fn charge(&mut self, bytes: usize) -> wasmtime::Result<()> {
        self.budget
            .host_call(bytes)
            .map_err(|e| wasmtime::format_err!("{e}"))
    }
}

/// Caps the guest's linear memory and tables, and remembers when a cap was hit so that the
/// resulting trap can be reported as what it is.
pub struct GuestLimiter {
    memory_bytes: usize,
    table_elements: usize,
    /// Set when a growth was refused.
    pub(crate) hit: Option<String>,
}

impl GuestLimiter {
    /// A limiter with these caps.
    pub fn new(memory_bytes: usize, table_elements: usize) -> Self {
        Self {
            memory_bytes,
            table_elements,
            hit: None,
        }
    }
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = Some(format!(
                "the guest hit its memory limit of {} MiB",
                self.memory_bytes >> 20
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hit = Some(format!(
                "the guest hit its table limit of {} elements",
                self.table_elements
            ));
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        8
    }

    fn tables(&self) -> usize {
        8
    }

    fn memories(&self) -> usize {
        2
    }
}
