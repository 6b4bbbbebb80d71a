//! A compiled guest ready to instantiate: the embedded one (precompiled at build time) or
//! a `guest_module` pinned by its SHA-256, linked against our imports only.

use super::bindings::KeyringGuestPre;
use super::host_state::HostState;
use super::{imports, SandboxError};
use crate::log::{LogLevel, LogSink};
use sha2::Digest;
use std::sync::Arc;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::Engine;

/// The default guest, built from `guest/` for wasm32-wasip2 and embedded at build time.
pub const EMBEDDED_GUEST: &[u8] = include_bytes!(env!("KMIP_KEYRING_GUEST_WASM"));

/// SHA-256 of [`EMBEDDED_GUEST`], computed by the build script.
pub const EMBEDDED_GUEST_SHA256: &str = env!("KMIP_KEYRING_GUEST_SHA256");

/// The same guest compiled ahead of time with this library's engine settings. Only this
/// artifact, part of the trusted build, is ever deserialized.
pub static EMBEDDED_GUEST_PRECOMPILED: &[u8] = include_bytes!(env!("KMIP_KEYRING_GUEST_CWASM"));

/// SHA-256 of the `.wasm` the precompiled artifact was made from, as the precompiler
/// recorded it (the build refuses an artifact whose source is not [`EMBEDDED_GUEST`]).
const PRECOMPILED_FROM_SHA256: &str = env!("KMIP_KEYRING_GUEST_CWASM_SOURCE_SHA256");

/// How the host turns the embedded precompiled artifact back into a component. The C ABI
/// module supplies it (deserializing machine code is `unsafe`); it takes no bytes, so it
/// can only ever deserialize [`EMBEDDED_GUEST_PRECOMPILED`].
pub type Deserializer = fn(&Engine) -> wasmtime::Result<Component>;

/// How the guest's machine code came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestOrigin {
    /// Deserialized from the artifact precompiled at build time (about a millisecond).
    Precompiled,
    /// Compiled with Cranelift when it was loaded (about a second).
    CompiledAtLoad,
}

/// A compiled guest, ready to instantiate; shared by every keyring of the process.
pub struct Runtime {
    pub(super) engine: Engine,
    pub(super) pre: KeyringGuestPre<HostState>,
    guest_name: String,
    guest_sha256: String,
    origin: GuestOrigin,
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn invalid(e: wasmtime::Error) -> SandboxError {
    SandboxError::InvalidGuest(format!("{e:#}"))
}

impl Runtime {
    /// Compiles the embedded guest (about a second; tests and tools use this).
    pub fn embedded() -> Result<Arc<Self>, SandboxError> {
        Self::compile(EMBEDDED_GUEST, "embedded".into())
    }

    /// The embedded guest from its precompiled artifact (about a millisecond). Should the
    /// artifact not fit this engine, the embedded `.wasm` is compiled instead, and `log`
    /// is told why at Warning level: Cranelift then runs inside the server, for a second,
    /// once `may_compile` agrees (the C ABI checks that the calling thread has the stack).
    pub fn embedded_precompiled(
        deserialize: Deserializer,
        log: &dyn LogSink,
        may_compile: &dyn Fn() -> Result<(), String>,
    ) -> Result<Arc<Self>, SandboxError> {
        let engine = kmip_keyring_engine::new_engine().map_err(invalid)?;
        let refused = if PRECOMPILED_FROM_SHA256 != EMBEDDED_GUEST_SHA256 {
            format!(
                "it was made from a guest with SHA-256 {PRECOMPILED_FROM_SHA256}, not the \
                 embedded {EMBEDDED_GUEST_SHA256}"
            )
        } else {
            match deserialize(&engine) {
                Ok(component) => {
                    return Self::link(
                        engine,
                        &component,
                        "embedded".into(),
                        EMBEDDED_GUEST_SHA256.into(),
                        GuestOrigin::Precompiled,
                    )
                }
                Err(e) => format!("{e:#}"),
            }
        };
        log.log(
            LogLevel::Warning,
            &format!(
                "the embedded precompiled keyring guest cannot be used ({refused}); compiling \
                 the embedded guest instead, which takes about a second"
            ),
        );
        may_compile().map_err(SandboxError::InvalidGuest)?;
        Self::embedded()
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
        let engine = kmip_keyring_engine::new_engine().map_err(invalid)?;
        let component = Component::new(&engine, wasm).map_err(invalid)?;
        Self::link(
            engine,
            &component,
            guest_name,
            sha256_hex(wasm),
            GuestOrigin::CompiledAtLoad,
        )
    }

    fn link(
        engine: Engine,
        component: &Component,
        guest_name: String,
        guest_sha256: String,
        origin: GuestOrigin,
    ) -> Result<Arc<Self>, SandboxError> {
        let mut linker = Linker::<HostState>::new(&engine);
        super::bindings::KeyringGuest::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
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
            origin,
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

    /// Whether the guest was deserialized from its precompiled artifact or compiled.
    pub fn origin(&self) -> GuestOrigin {
        self.origin
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("guest", &self.guest_name)
            .field("sha256", &self.guest_sha256)
            .field("origin", &self.origin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::MemoryLog;

    #[test]
    fn an_artifact_that_cannot_be_deserialized_is_compiled_instead_with_a_warning() {
        let log = MemoryLog::shared();
        let refuse: Deserializer = |_| Err(wasmtime::format_err!("a corrupt artifact"));
        let runtime = Runtime::embedded_precompiled(refuse, log.as_ref(), &|| Ok(()))
            .expect("the embedded .wasm compiles");
        assert_eq!(runtime.origin(), GuestOrigin::CompiledAtLoad);
        assert_eq!(runtime.guest_sha256(), EMBEDDED_GUEST_SHA256);
        let lines = log.lines();
        assert!(
            lines.iter().any(|(level, line)| *level == LogLevel::Warning
                && line.contains("cannot be used (a corrupt artifact)")),
            "{lines:?}"
        );
        // Where compiling is not allowed (too little stack), the load fails instead.
        let err = Runtime::embedded_precompiled(refuse, log.as_ref(), &|| Err("no stack".into()))
            .expect_err("refused");
        assert!(err.to_string().contains("no stack"), "{err}");
    }

    #[test]
    fn the_embedded_hash_is_the_hash_of_the_embedded_guest() {
        assert_eq!(sha256_hex(EMBEDDED_GUEST), EMBEDDED_GUEST_SHA256);
        assert_eq!(PRECOMPILED_FROM_SHA256, EMBEDDED_GUEST_SHA256);
    }
}
