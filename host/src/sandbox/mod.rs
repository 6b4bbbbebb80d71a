//! The wasmtime sandbox: engine, compiled guest, limits, and one store per keyring whose
//! instance is rebuilt when a trap or a limit poisons it.

mod bindings;
pub mod budget;
mod host_state;
mod imports;
mod run;
mod runtime;
mod types;

pub use budget::MAX_RANDOM_BYTES;
pub use host_state::HostState;
pub use runtime::{
    Deserializer, GuestOrigin, Runtime, EMBEDDED_GUEST, EMBEDDED_GUEST_PRECOMPILED,
    EMBEDDED_GUEST_SHA256,
};
pub use types::{GuestError, GuestKey, GuestSettings, ServerFailure, SessionStatus};

use crate::broker::{Channel, Dialer};
use crate::log::{LogLevel, LogSink};
use bindings::keyring::KeyringError as WitKeyringError;
use bindings::KeyringGuest;
use budget::{CallBudget, CallKind};
use run::Driven;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use thiserror::Error;
use wasmtime::component::ResourceTable;
use wasmtime::Store;

pub use crate::config::Limits;

/// Why the sandbox could not run a guest call.
#[derive(Debug, Error)]
pub enum SandboxError {
    /// The guest module could not be compiled or does not implement the world.
    #[error("the keyring guest cannot be used: {0}")]
    InvalidGuest(String),
    /// The guest trapped, ran out of fuel or hit a limit; the instance was discarded.
    #[error("the keyring guest failed and was restarted: {0}")]
    Trapped(String),
    /// The guest reported a keyring error.
    #[error("{0}")]
    Guest(GuestError),
}

impl SandboxError {
    /// The guest refused the request itself (an argument no KMIP keyring accepts), rather
    /// than failing to carry it out.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Self::Guest(GuestError::InvalidArgument(_)))
    }

    /// The guest could not reach any server (rather than a server refusing the request).
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Guest(GuestError::Transport(_)))
    }
}

/// The guest's connection resource (the WIT `connection`): whatever channel the dialer
/// opened.
pub struct GuestConnection(pub Box<dyn Channel>);

/// One line for a trap: its cause ("wasm trap: integer divide by zero", "all fuel
/// consumed by WebAssembly", an import's refusal), without the multi-line backtrace.
fn describe_trap(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error
            .chain()
            .last()
            .map_or_else(|| error.to_string(), ToString::to_string),
    }
}

/// One live guest instance with its store. Not shared between threads at once: the
/// keyring holds it behind a mutex.
pub struct Sandbox {
    runtime: Arc<Runtime>,
    dialer: Arc<dyn Dialer>,
    log: Arc<dyn LogSink>,
    settings: GuestSettings,
    limits: Limits,
    live: Option<(Store<HostState>, KeyringGuest)>,
    /// Complete KMIP responses the guest received (its instances count here).
    responses: Arc<AtomicU64>,
}

/// Why a call that never completed failed (see `run::to_completion`).
const SUSPENDED: &str = "the guest call suspended, which no import of this host allows";

impl Sandbox {
    /// A sandbox whose guest reaches servers through `dialer`; the instance is created on
    /// first use.
    pub fn new(
        runtime: Arc<Runtime>,
        dialer: Arc<dyn Dialer>,
        log: Arc<dyn LogSink>,
        settings: GuestSettings,
        limits: Limits,
    ) -> Self {
        Self {
            runtime,
            dialer,
            log,
            settings,
            limits,
            live: None,
            responses: Arc::new(AtomicU64::new(0)),
        }
    }

    fn instantiate(&self) -> Result<(Store<HostState>, KeyringGuest), SandboxError> {
        let limits = self.limits;
        let state = HostState {
            dialer: self.dialer.clone(),
            table: ResourceTable::new(),
            open_connections: 0,
            log: self.log.clone(),
            limits: host_state::GuestLimiter::new(limits.memory_bytes, limits.table_elements),
            budget: CallBudget::new(CallKind::Local),
            responses: self.responses.clone(),
        };
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limits);
        // No guest can legitimately hand the host more in one call or one result than its
        // whole memory; without this cap, a result whose list entries all point at the
        // same bytes would make the host copy them once per entry.
        store.set_hostcall_fuel(limits.memory_bytes);
        let trapped = |e: wasmtime::Error| SandboxError::Trapped(format!("{e:#}"));
        store.set_fuel(limits.fuel_per_call).map_err(trapped)?;
        let guest = run::to_completion(self.runtime.pre.instantiate_async(&mut store))
            .ok_or_else(|| SandboxError::Trapped(SUSPENDED.into()))?
            .map_err(trapped)?;
        run::to_completion(
            guest
                .mysql_keyring_kmip_keyring()
                .call_configure(&mut store, &(&self.settings).into()),
        )
        .ok_or_else(|| SandboxError::Trapped(SUSPENDED.into()))?
        .map_err(trapped)?
        .map_err(|e| SandboxError::Guest(e.into()))?;
        Ok((store, guest))
    }

    /// Prepares one call into the guest: an instance (built if the last one was discarded),
    /// a fresh fuel budget and a fresh host budget. The call itself then runs on the
    /// guest's own stack (`run::to_completion`) and ends in [`Self::finish`].
    fn begin(
        &mut self,
        kind: CallKind,
    ) -> Result<(&mut Store<HostState>, &KeyringGuest), SandboxError> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let (store, guest) = self.live.as_mut().expect("instantiated above");
        // A write gets one slice of fuel. A load's fuel is handed out a slice at a time
        // (each spent slice yields), the next only after a KMIP response
        // (`run::to_completion_with_progress`), and at most MAX_FUEL_SLICES_LOAD in all.
        let per_call = self.limits.fuel_per_call;
        let (fuel, slice) = match kind {
            CallKind::Load => (
                per_call.saturating_mul(budget::MAX_FUEL_SLICES_LOAD),
                Some(per_call.max(1)),
            ),
            _ => (per_call, None),
        };
        store
            .set_fuel(fuel)
            .and_then(|()| store.fuel_async_yield_interval(slice))
            .map_err(|e| SandboxError::Trapped(format!("{e:#}")))?;
        store.data_mut().budget = CallBudget::new(kind);
        Ok((store, guest))
    }

    /// Ends a call: a trap (or a call that never completed) discards the instance, so the
    /// next call builds a new one; a guest-reported error does not.
    fn finish<T>(
        &mut self,
        what: &str,
        outcome: Option<wasmtime::Result<Result<T, WitKeyringError>>>,
        incomplete: &str,
    ) -> Result<T, SandboxError> {
        let dropped = self
            .live
            .as_ref()
            .map_or(0, |(store, _)| store.data().budget.dropped_log_lines);
        if dropped > 0 {
            self.log.log(
                LogLevel::Warning,
                &format!(
                    "keyring guest: {dropped} more log lines during {what} were dropped (at \
                     most {} per call are written)",
                    budget::MAX_LOG_LINES
                ),
            );
        }
        let trap = match outcome {
            Some(Ok(result)) => return result.map_err(|e| SandboxError::Guest(e.into())),
            Some(Err(trap)) => describe_trap(&trap),
            None => incomplete.to_owned(),
        };
        let limit = self
            .live
            .as_mut()
            .and_then(|(store, _)| store.data_mut().limits.hit.take());
        self.live = None;
        // Not logged here: the caller reports the failed operation in one line, which
        // carries this message.
        Err(SandboxError::Trapped(match limit {
            Some(limit) => format!("{what}: {limit} ({trap})"),
            None => format!("{what}: {trap}"),
        }))
    }

    /// Every key on the server (the cache fill).
    pub fn load_all(&mut self) -> Result<Vec<GuestKey>, SandboxError> {
        let responses = self.responses.clone();
        let (store, guest) = self.begin(CallKind::Load)?;
        let outcome = match run::to_completion_with_progress(
            guest.mysql_keyring_kmip_keyring().call_load_all(store),
            &responses,
        ) {
            Driven::Done(outcome) => Some(outcome),
            Driven::Stalled => None,
        };
        let stalled = format!(
            "all fuel consumed by WebAssembly: {} fuel (sandbox_fuel_per_call) without a \
             KMIP response",
            self.limits.fuel_per_call
        );
        // Past the last slice the store traps on its own: "all fuel consumed".
        let entries = self.finish("load", outcome, &stalled)?;
        Ok(entries.into_iter().map(GuestKey::from).collect())
    }

    /// Registers and activates a key; returns its object id.
    pub fn store(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        data: &[u8],
    ) -> Result<String, SandboxError> {
        let (store, guest) = self.begin(CallKind::Write)?;
        let outcome = run::to_completion(
            guest
                .mysql_keyring_kmip_keyring()
                .call_store_key(store, data_id, auth_id, key_type, data),
        );
        self.finish("store", outcome, SUSPENDED)
    }

    /// Generates and stores a key; returns it.
    pub fn generate(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        length: u32,
    ) -> Result<GuestKey, SandboxError> {
        let (store, guest) = self.begin(CallKind::Write)?;
        let outcome = run::to_completion(
            guest
                .mysql_keyring_kmip_keyring()
                .call_generate_key(store, data_id, auth_id, key_type, length),
        );
        self.finish("generate", outcome, SUSPENDED)
            .map(GuestKey::from)
    }

    /// Revokes and destroys an object.
    pub fn remove(&mut self, object_id: &str) -> Result<(), SandboxError> {
        let (store, guest) = self.begin(CallKind::Write)?;
        let outcome = run::to_completion(
            guest
                .mysql_keyring_kmip_keyring()
                .call_remove_key(store, object_id),
        );
        self.finish("remove", outcome, SUSPENDED)
    }

    /// The live instance prepared for a call that does no I/O; `None` if none is live.
    fn begin_local(&mut self) -> Option<(&mut Store<HostState>, &KeyringGuest)> {
        let (store, guest) = self.live.as_mut()?;
        let _ = store.set_fuel(self.limits.fuel_per_call);
        let _ = store.fuel_async_yield_interval(None);
        store.data_mut().budget = CallBudget::new(CallKind::Local);
        Some((store, guest))
    }

    /// The guest's session, if an instance is live.
    pub fn status(&mut self) -> SessionStatus {
        let Some((store, guest)) = self.begin_local() else {
            return SessionStatus::default();
        };
        match run::to_completion(guest.mysql_keyring_kmip_keyring().call_status(store)) {
            Some(Ok(status)) => status.into(),
            _ => {
                self.live = None;
                SessionStatus::default()
            }
        }
    }

    /// The objects the guest left on the server by writes it reported failed (each handed
    /// over once; none if no instance is live or the call traps).
    pub fn take_left_on_server(&mut self) -> Vec<String> {
        let Some((store, guest)) = self.begin_local() else {
            return Vec::new();
        };
        match run::to_completion(
            guest
                .mysql_keyring_kmip_keyring()
                .call_take_left_on_server(store),
        ) {
            Some(Ok(ids)) => ids,
            _ => {
                self.live = None;
                Vec::new()
            }
        }
    }
}
