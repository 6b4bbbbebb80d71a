//! The component's global state: the loaded keyring (swapped whole by `load`) and the
//! compiled guest, both dropped by `deinit`.

use crate::log::{LogLevel, LogSink};
use crate::sandbox::GuestOrigin;
use crate::{Config, Keyring, Runtime};
use arc_swap::ArcSwapOption;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Swapped whole by `load`. An `ArcSwapOption`, not a lock: mysqld's every read starts by
/// looking it up, and a lookup writes nothing shared (the one lock a read takes is the
/// cache's).
static KEYRING: ArcSwapOption<Keyring> = ArcSwapOption::const_empty();
/// Compiled guests by SHA-256, so RELOAD does not recompile an unchanged guest.
static RUNTIMES: Mutex<Vec<Arc<Runtime>>> = Mutex::new(Vec::new());

/// The loaded keyring, if a load has succeeded.
pub fn keyring() -> Option<Arc<Keyring>> {
    KEYRING.load_full()
}

/// Runs `f` on the loaded keyring without taking a reference to it (for calls that only
/// read the cache); `None` if no load has succeeded.
pub fn with_keyring<R>(f: impl FnOnce(&Keyring) -> R) -> Option<R> {
    KEYRING.load().as_deref().map(f)
}

fn runtime(config: &Config, log: &dyn LogSink) -> Result<Arc<Runtime>, String> {
    let mut cache = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    let wanted = config.guest.as_ref().map(|g| g.sha256.as_str());
    if let Some(hit) = cache.iter().find(|r| match wanted {
        Some(sha) => r.guest_sha256() == sha,
        None => r.guest_name() == "embedded",
    }) {
        return Ok(hit.clone());
    }
    // Cranelift runs on this thread: only with the stack it needs.
    let may_compile = || {
        super::stack::check_for(
            "compiling the keyring guest",
            super::stack::MIN_STACK_LEFT_TO_COMPILE,
        )
    };
    let runtime = match &config.guest {
        Some(module) => {
            may_compile()?;
            Runtime::from_module(module)
        }
        None => Runtime::embedded_precompiled(deserialize_embedded, log, &may_compile),
    }
    .map_err(|e| e.to_string())?;
    cache.push(runtime.clone());
    Ok(runtime)
}

/// Deserializes the precompiled guest embedded in this library, and nothing else.
fn deserialize_embedded(
    engine: &wasmtime::Engine,
) -> wasmtime::Result<wasmtime::component::Component> {
    // SAFETY: the bytes are this library's own `EMBEDDED_GUEST_PRECOMPILED`: machine code
    // our build produced with the same engine settings (kmip-keyring-engine) from the
    // embedded `.wasm` (the build checks the artifact's recorded source hash). wasmtime
    // still checks its version and settings header and refuses a mismatch.
    unsafe {
        wasmtime::component::Component::deserialize(
            engine,
            crate::sandbox::EMBEDDED_GUEST_PRECOMPILED,
        )
    }
}

/// Builds a complete new keyring from the configuration found via the two directories and
/// swaps it in; on failure the previous keyring keeps serving.
pub fn load(plugin_dir: &Path, data_dir: &Path, log: Arc<dyn LogSink>) -> Result<usize, String> {
    let config = Config::locate_and_load(plugin_dir, data_dir).map_err(|e| e.to_string())?;
    let servers: Vec<String> = config.servers.iter().map(ToString::to_string).collect();
    let runtime = runtime(&config, log.as_ref())?;
    log.log(
        LogLevel::Info,
        &format!(
            "keyring guest: {} (SHA-256 {}), {}",
            runtime.guest_name(),
            runtime.guest_sha256(),
            match runtime.origin() {
                GuestOrigin::Precompiled => "precompiled at build time",
                GuestOrigin::CompiledAtLoad => "compiled at load",
            }
        ),
    );
    let previous = KEYRING.load_full();
    let keyring = match previous.as_deref() {
        Some(previous) => Keyring::reload(config, runtime, log.clone(), previous),
        None => Keyring::load(config, runtime, log.clone()),
    }
    .map_err(|e| format!("{e} (KMIP servers: {})", servers.join(", ")))?;
    let keyring = Arc::new(keyring);
    let previous = KEYRING.swap(Some(keyring.clone()));
    // A write on the previous keyring may have failed, leaving an object the load above
    // read, after the load's own check: check again now that later failures see this one.
    keyring.keep_left_objects_out();
    let count = keyring.len();
    if previous.is_some() {
        log.log(
            LogLevel::Info,
            "keyring reloaded; the previous state was replaced",
        );
    }
    Ok(count)
}

/// After a store or generate failed: the keyring serving now (which a RELOAD may have
/// swapped in during the write) must not serve an object the failure left on the server.
pub fn keep_left_objects_out() {
    with_keyring(Keyring::keep_left_objects_out);
}

/// Drops every state so the library can be unloaded.
pub fn unload() {
    KEYRING.store(None);
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner()).clear();
}
