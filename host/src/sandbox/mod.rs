//! The wasmtime sandbox: engine, compiled guest, limits, and one store per keyring whose
//! instance is rebuilt when a trap or a limit poisons it.

pub mod bindings;
mod host_state;
mod imports;

pub use host_state::HostState;
pub use imports::MAX_RANDOM_BYTES;

use crate::broker::Dialer;
use crate::log::{LogLevel, LogSink};
use bindings::keyring::{KeyEntry, KeyringError as WitKeyringError, SessionStatus, Settings};
use bindings::{KeyringGuest, KeyringGuestPre};
use sha2::Digest;
use std::sync::Arc;
use thiserror::Error;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};

/// The default guest, built from `guest/` for wasm32-wasip2 and embedded at build time.
pub const EMBEDDED_GUEST: &[u8] = include_bytes!(env!("KMIP_KEYRING_GUEST_WASM"));

/// The same guest compiled ahead of time with this library's engine settings. Only this
/// artifact, part of the trusted build, is ever deserialized.
pub static EMBEDDED_GUEST_PRECOMPILED: &[u8] = include_bytes!(env!("KMIP_KEYRING_GUEST_CWASM"));

/// How the host turns the embedded artifact back into a component (the C ABI module
/// supplies it: deserializing machine code is `unsafe`).
pub type Deserializer = fn(&Engine, &'static [u8]) -> wasmtime::Result<Component>;

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

/// A keyring error reported by the guest (the WIT `keyring-error`), made printable.
#[derive(Debug, Clone)]
pub struct GuestError(pub WitKeyringError);

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use bindings::transport::TransportError as T;
        match &self.0 {
            WitKeyringError::InvalidArgument(m) => write!(f, "invalid request: {m}"),
            WitKeyringError::ServerFailure(s) => write!(
                f,
                "KMIP {} failed on the server: {}{}",
                s.operation,
                s.reason,
                if s.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.message)
                }
            ),
            WitKeyringError::MalformedResponse(m) => write!(f, "malformed KMIP response: {m}"),
            WitKeyringError::NotConfigured => f.write_str("the keyring guest was not configured"),
            WitKeyringError::Transport(t) => match t {
                T::NoSuchServer(i) => write!(f, "no KMIP server is configured at index {i}"),
                T::Refused(m) => write!(f, "KMIP server unreachable: {m}"),
                T::Timeout(m) => write!(f, "KMIP server timed out: {m}"),
                T::TlsFailure(m) => write!(f, "TLS failure with the KMIP server: {m}"),
                T::Closed => f.write_str("the KMIP server closed the connection"),
                T::MessageTooLarge(n) => write!(f, "KMIP message larger than {n} bytes"),
                T::BadFraming(m) => write!(f, "not a KMIP message: {m}"),
                T::Io(m) => write!(f, "I/O error with the KMIP server: {m}"),
            },
        }
    }
}

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

/// A compiled guest, ready to instantiate; shared by every keyring of the process.
pub struct Runtime {
    engine: Engine,
    pre: KeyringGuestPre<HostState>,
    guest_name: String,
    guest_sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Runtime {
    /// Compiles the embedded guest (about a second; tests and tools use this).
    pub fn embedded() -> Result<Arc<Self>, SandboxError> {
        Self::compile(EMBEDDED_GUEST, "embedded".into())
    }

    /// The embedded guest from its precompiled artifact (about a millisecond). Should the
    /// artifact not fit this engine, the embedded `.wasm` is compiled instead.
    pub fn embedded_precompiled(deserialize: Deserializer) -> Result<Arc<Self>, SandboxError> {
        let invalid = |e: wasmtime::Error| SandboxError::InvalidGuest(format!("{e:#}"));
        let engine = kmip_keyring_engine::new_engine().map_err(invalid)?;
        match deserialize(&engine, EMBEDDED_GUEST_PRECOMPILED) {
            Ok(component) => Self::link(
                engine,
                &component,
                "embedded".into(),
                sha256_hex(EMBEDDED_GUEST),
            ),
            Err(_) => Self::embedded(),
        }
    }

    /// Compiles the guest named by `guest_module`, after checking it against `guest_sha256`.
    pub fn from_module(module: &crate::config::GuestModule) -> Result<Arc<Self>, SandboxError> {
        let path = module.path.display();
        let wasm = std::fs::read(&module.path)
            .map_err(|e| SandboxError::InvalidGuest(format!("guest_module ({path}): {e}")))?;
        let actual = sha256_hex(&wasm);
        if actual != module.sha256 {
            return Err(SandboxError::InvalidGuest(format!(
                "guest_module ({path}) has SHA-256 {actual}, but guest_sha256 pins {}; refusing to run it",
                module.sha256
            )));
        }
        Self::compile(&wasm, path.to_string())
    }

    /// Compiles a guest component from memory (tests, tools).
    pub fn from_wasm(wasm: &[u8]) -> Result<Arc<Self>, SandboxError> {
        Self::compile(wasm, "in-memory".into())
    }

    /// Compiles a guest component and links it against our imports only, plus the harmless
    /// `wasi:random/insecure-seed` that Rust's std needs for `HashMap`. Other imports outside
    /// our WIT world (WASI, left in by a toolchain) are defined as traps: a guest that calls
    /// one fails the call, it is never granted anything.
    fn compile(wasm: &[u8], guest_name: String) -> Result<Arc<Self>, SandboxError> {
        let invalid = |e: wasmtime::Error| SandboxError::InvalidGuest(format!("{e:#}"));
        let engine = kmip_keyring_engine::new_engine().map_err(invalid)?;
        let component = Component::new(&engine, wasm).map_err(invalid)?;
        Self::link(engine, &component, guest_name, sha256_hex(wasm))
    }

    fn link(
        engine: Engine,
        component: &Component,
        guest_name: String,
        guest_sha256: String,
    ) -> Result<Arc<Self>, SandboxError> {
        let invalid = |e: wasmtime::Error| SandboxError::InvalidGuest(format!("{e:#}"));
        let mut linker = Linker::<HostState>::new(&engine);
        KeyringGuest::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(invalid)?;
        imports::insecure_seed::define(&mut linker, component).map_err(invalid)?;
        linker
            .define_unknown_imports_as_traps(component)
            .map_err(invalid)?;
        let instance_pre = linker.instantiate_pre(component).map_err(invalid)?;
        let pre = KeyringGuestPre::new(instance_pre).map_err(invalid)?;
        Ok(Arc::new(Self {
            engine,
            pre,
            guest_name,
            guest_sha256,
        }))
    }

    /// Where the guest came from: `embedded`, or the `guest_module` path.
    pub fn guest_name(&self) -> &str {
        &self.guest_name
    }

    /// SHA-256 of the guest component, in hex.
    pub fn guest_sha256(&self) -> &str {
        &self.guest_sha256
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("guest", &self.guest_name)
            .field("sha256", &self.guest_sha256)
            .finish()
    }
}

/// One live guest instance with its store. Not shared between threads at once: the
/// keyring holds it behind a mutex.
pub struct Sandbox {
    runtime: Arc<Runtime>,
    dialer: Arc<dyn Dialer>,
    log: Arc<dyn LogSink>,
    settings: Settings,
    limits: Limits,
    live: Option<(Store<HostState>, KeyringGuest)>,
}

impl Sandbox {
    /// A sandbox whose guest reaches servers through `dialer`; the instance is created on
    /// first use.
    pub fn new(
        runtime: Arc<Runtime>,
        dialer: Arc<dyn Dialer>,
        log: Arc<dyn LogSink>,
        settings: Settings,
        limits: Limits,
    ) -> Self {
        Self {
            runtime,
            dialer,
            log,
            settings,
            limits,
            live: None,
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
        };
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limits);
        let trapped = |e: wasmtime::Error| SandboxError::Trapped(format!("{e:#}"));
        store.set_fuel(limits.fuel_per_call).map_err(trapped)?;
        let guest = self.runtime.pre.instantiate(&mut store).map_err(trapped)?;
        guest
            .mysql_keyring_kmip_keyring()
            .call_configure(&mut store, &self.settings)
            .map_err(trapped)?
            .map_err(|e| SandboxError::Guest(GuestError(e)))?;
        Ok((store, guest))
    }

    /// Runs one call into the guest with a fresh fuel budget. A trap discards the instance
    /// (the next call builds a new one); a guest-reported error does not.
    fn call<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(
            &KeyringGuest,
            &mut Store<HostState>,
        ) -> wasmtime::Result<Result<T, WitKeyringError>>,
    ) -> Result<T, SandboxError> {
        if self.live.is_none() {
            self.live = Some(self.instantiate()?);
        }
        let (store, guest) = self.live.as_mut().expect("instantiated above");
        store
            .set_fuel(self.limits.fuel_per_call)
            .map_err(|e| SandboxError::Trapped(format!("{e:#}")))?;
        match f(guest, store) {
            Ok(result) => result.map_err(|e| SandboxError::Guest(GuestError(e))),
            Err(trap) => {
                let limit = store.data_mut().limits.hit.take();
                self.live = None;
                let message = match limit {
                    Some(limit) => format!("{what}: {limit} ({})", describe_trap(&trap)),
                    None => format!("{what}: {}", describe_trap(&trap)),
                };
                self.log.log(
                    LogLevel::Error,
                    &format!("keyring guest trapped during {message}; instance discarded"),
                );
                Err(SandboxError::Trapped(message))
            }
        }
    }

    /// Every key on the server (the cache fill).
    pub fn load_all(&mut self) -> Result<Vec<KeyEntry>, SandboxError> {
        self.call("load", |g, s| {
            g.mysql_keyring_kmip_keyring().call_load_all(s)
        })
    }

    /// Registers and activates a key; returns its object id.
    pub fn store(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        data: &[u8],
    ) -> Result<String, SandboxError> {
        self.call("store", |g, s| {
            g.mysql_keyring_kmip_keyring()
                .call_store_key(s, data_id, auth_id, key_type, data)
        })
    }

    /// Generates and stores a key; returns it.
    pub fn generate(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        length: u32,
    ) -> Result<KeyEntry, SandboxError> {
        self.call("generate", |g, s| {
            g.mysql_keyring_kmip_keyring()
                .call_generate_key(s, data_id, auth_id, key_type, length)
        })
    }

    /// Revokes and destroys an object.
    pub fn remove(&mut self, object_id: &str) -> Result<(), SandboxError> {
        self.call("remove", |g, s| {
            g.mysql_keyring_kmip_keyring().call_remove_key(s, object_id)
        })
    }

    /// The guest's session, if an instance is live.
    pub fn status(&mut self) -> SessionStatus {
        let Some((store, guest)) = self.live.as_mut() else {
            return SessionStatus {
                server_index: None,
                protocol_version: None,
            };
        };
        let _ = store.set_fuel(self.limits.fuel_per_call);
        match guest.mysql_keyring_kmip_keyring().call_status(store) {
            Ok(status) => status,
            Err(_) => {
                self.live = None;
                SessionStatus {
                    server_index: None,
                    protocol_version: None,
                }
            }
        }
    }
}
