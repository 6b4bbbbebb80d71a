//! A server the sections talk to, as the sandboxed guest or the native core, and one timed cache fill from it.

use anyhow::Result;
use component_keyring_kmip::broker::{Broker, Dialer};
use component_keyring_kmip::config::FETCH_BATCH_SIZE;
use component_keyring_kmip::sandbox::{GuestSettings, Sandbox};
use component_keyring_kmip::{Config, LogLevel, LogSink, Runtime};
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::{KeyringLogic, Settings};
use kmip_keyring_tests::native_platform::{
    log_to, Counters, CountingDialer, NativePlatform, Traffic,
};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Drops every log line: the benchmark wants the cost of logging, not the lines.
struct NullLog;

impl LogSink for NullLog {
    fn log(&self, level: LogLevel, message: &str) {
        if level <= LogLevel::Error {
            eprintln!("bench: component error: {message}");
        }
    }
}

fn null_log() -> Arc<dyn LogSink> {
    Arc::new(NullLog)
}

/// A server the load and operation sections talk to.
pub struct Target {
    pub label: String,
    config: Config,
    broker: Broker,
}

impl Target {
    pub fn new(
        label: &str,
        json: &serde_json::Value,
        dir: &Path,
        group: Option<&str>,
    ) -> Result<Self> {
        let mut json = json.clone();
        if let Some(group) = group {
            json["object_group"] = group.into();
        }
        let name = format!("{}.cnf", label.replace([' ', ',', '/'], "_"));
        let config = Config::from_json(&dir.join(name), &json.to_string())?;
        let broker = Broker::from_config(&config)?;
        Ok(Self {
            label: label.to_owned(),
            config,
            broker,
        })
    }

    /// The keyring core over this server, natively.
    pub fn native(
        &self,
        strategy: LoadStrategy,
        counters: &Arc<Counters>,
    ) -> Result<KeyringLogic<NativePlatform>> {
        let platform =
            NativePlatform::new(self.broker.clone(), counters.clone(), log_to(null_log()));
        let mut logic = KeyringLogic::new(platform);
        logic.configure(Settings {
            object_group: self.config.object_group.clone(),
            locate_page_size: self.config.locate_page_size,
            fetch_batch_size: FETCH_BATCH_SIZE,
            strategy,
        })?;
        Ok(logic)
    }

    /// The sandboxed guest over this server, as `Keyring::load` builds it, with its
    /// channels counted.
    pub fn sandbox(&self, runtime: &Arc<Runtime>, counters: &Arc<Counters>) -> Sandbox {
        let broker: Arc<dyn Dialer> = Arc::new(self.broker.clone());
        Sandbox::new(
            runtime.clone(),
            Arc::new(CountingDialer::new(broker, counters.clone())),
            null_log(),
            GuestSettings {
                object_group: self.config.object_group.clone(),
                locate_page_size: self.config.locate_page_size,
                fetch_batch_size: FETCH_BATCH_SIZE,
            },
            self.config.limits,
        )
    }
}

/// One complete cache fill (connect, negotiate, Locate, fetch) and what it sent.
#[derive(Clone, Copy)]
pub struct Fill {
    pub wall: Duration,
    pub keys: usize,
    pub traffic: Traffic,
}

/// Which client fills: the sandboxed guest, or the core compiled natively with a strategy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Path3 {
    Wasm,
    Native(LoadStrategy),
}

pub fn fill_once(target: &Target, path: Path3, runtime: &Arc<Runtime>) -> Result<Fill> {
    let counters = Counters::shared();
    let started = Instant::now();
    let keys = match path {
        Path3::Wasm => target
            .sandbox(runtime, &counters)
            .load_all()
            .map_err(|e| anyhow::anyhow!("{}: sandboxed load: {e}", target.label))?
            .len(),
        Path3::Native(strategy) => target
            .native(strategy, &counters)?
            .load_all()
            .map_err(|e| anyhow::anyhow!("{}: native load: {e}", target.label))?
            .len(),
    };
    Ok(Fill {
        wall: started.elapsed(),
        keys,
        traffic: counters.snapshot(),
    })
}

/// The median of up to five fills; one only when a fill takes a second or more.
pub fn fill(target: &Target, path: Path3, runtime: &Arc<Runtime>) -> Result<Fill> {
    let first = fill_once(target, path, runtime)?;
    if first.wall >= Duration::from_secs(1) {
        return Ok(first);
    }
    let mut runs = vec![first];
    for _ in 0..4 {
        runs.push(fill_once(target, path, runtime)?);
    }
    runs.sort_by_key(|f| f.wall);
    Ok(runs[2])
}
