//! The component's global state: the loaded keyring (swapped whole by `load`) and the
//! compiled guest, both dropped by `deinit`.

use crate::log::{LogLevel, LogSink};
use crate::{Config, Keyring, Runtime};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);
/// Compiled guests by SHA-256, so RELOAD does not recompile an unchanged guest.
static RUNTIMES: Mutex<Vec<Arc<Runtime>>> = Mutex::new(Vec::new());

/// The loaded keyring, if a load has succeeded.
pub fn keyring() -> Option<Arc<Keyring>> {
    KEYRING.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn runtime(config: &Config) -> Result<Arc<Runtime>, String> {
    let mut cache = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    let wanted = config.guest.as_ref().map(|g| g.sha256.as_str());
    if let Some(hit) = cache.iter().find(|r| match wanted {
        Some(sha) => r.guest_sha256() == sha,
        None => r.guest_name() == "embedded",
    }) {
        return Ok(hit.clone());
    }
    let runtime = match &config.guest {
        Some(module) => Runtime::from_module(module),
        None => Runtime::embedded_precompiled(deserialize_embedded),
    }
    .map_err(|e| e.to_string())?;
    cache.push(runtime.clone());
    Ok(runtime)
}

/// Deserializes the precompiled guest embedded in this library.
fn deserialize_embedded(
    engine: &wasmtime::Engine,
    artifact: &'static [u8],
) -> wasmtime::Result<wasmtime::component::Component> {
    // SAFETY: `artifact` can only be `EMBEDDED_GUEST_PRECOMPILED` (the `Deserializer` type
    // takes `'static` bytes, and only this library's embedded artifact is passed): machine
    // code our own build produced with the same engine settings (kmip-keyring-engine).
    // wasmtime still checks its version and settings header and refuses a mismatch.
    unsafe { wasmtime::component::Component::deserialize(engine, artifact) }
}

/// Builds a complete new keyring from the configuration found via the two directories and
/// swaps it in; on failure the previous keyring keeps serving.
pub fn load(plugin_dir: &Path, data_dir: &Path, log: Arc<dyn LogSink>) -> Result<usize, String> {
    let config = Config::locate_and_load(plugin_dir, data_dir).map_err(|e| e.to_string())?;
    let servers: Vec<String> = config.servers.iter().map(ToString::to_string).collect();
    let runtime = runtime(&config)?;
    let keyring = Keyring::load(config, runtime, log.clone())
        .map_err(|e| format!("{e} (KMIP servers: {})", servers.join(", ")))?;
    let count = keyring.len();
    let previous = KEYRING
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .replace(Arc::new(keyring));
    if previous.is_some() {
        log.log(
            LogLevel::Info,
            "keyring reloaded; the previous state was replaced",
        );
    }
    Ok(count)
}

/// Drops every state so the library can be unloaded.
pub fn unload() {
    KEYRING.write().unwrap_or_else(|e| e.into_inner()).take();
    RUNTIMES.lock().unwrap_or_else(|e| e.into_inner()).clear();
}
