//! Section 4: the cost of a load, embedded precompiled guest against compiling the .wasm at load, network excluded.

use crate::child;
use crate::component::{empty_group, plugin_dir, EMPTY_GROUP};
use crate::target::{fill_once, Path3, Target};
use crate::units::median;
use anyhow::Result;
use component_keyring_kmip::Runtime;
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_tests::fast_peer::FastPeer;
use kmip_keyring_tests::workspace_root;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One way of getting the guest, over three child processes.
pub struct CostRow {
    pub label: &'static str,
    /// Median first load in a fresh process.
    pub first: Duration,
    /// Median later load in the same process.
    pub reload: Duration,
    /// Whether the goal is judged on this row (the default).
    pub goal: bool,
}

/// What section 4 measured.
pub struct LoadCost {
    /// The network part of an empty load: median of 10 by the native core.
    pub network: Duration,
    pub rows: Vec<CostRow>,
    /// Cranelift compile of the guest alone, in this process.
    pub compile: Duration,
    /// Size of the guest's .wasm.
    pub wasm_bytes: usize,
}

pub fn run(runtime: &Arc<Runtime>, so: &Path, dir: &Path, peer: &FastPeer) -> Result<LoadCost> {
    let empty = empty_group(peer);
    let wasm_path = workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest.wasm");
    let mut compiled = empty.clone();
    compiled["guest_module"] = wasm_path.display().to_string().into();
    compiled["guest_sha256"] = kmip_keyring_tests::sha256_hex(&std::fs::read(&wasm_path)?).into();
    let network = {
        let target = Target::new(
            "fast peer, empty group",
            &peer.config_json(),
            dir,
            Some(EMPTY_GROUP),
        )?;
        let runs: Result<Vec<Duration>> = (0..10)
            .map(|_| {
                fill_once(&target, Path3::Native(LoadStrategy::Batched), runtime).map(|f| f.wall)
            })
            .collect();
        median(&runs?)
    };
    let mut rows = Vec::new();
    for (label, config, goal) in [
        ("embedded, precompiled (default)", &empty, true),
        ("guest_module .wasm, compiled at load", &compiled, false),
    ] {
        let plugin = plugin_dir(dir, &format!("cost-{}", goal), config)?;
        let mut firsts = Vec::new();
        let mut reloads = Vec::new();
        for _ in 0..3 {
            let figures = child::spawn(&[
                "load-cost",
                &so.display().to_string(),
                &plugin.display().to_string(),
            ])?;
            firsts.push(Duration::from_secs_f64(
                figures["first_ms"].as_f64().unwrap_or(0.0) / 1e3,
            ));
            reloads.push(Duration::from_secs_f64(
                figures["reload_ms"].as_f64().unwrap_or(0.0) / 1e3,
            ));
        }
        rows.push(CostRow {
            label,
            first: median(&firsts),
            reload: median(&reloads),
            goal,
        });
    }
    let wasm = std::fs::read(&wasm_path)?;
    let compile_started = Instant::now();
    drop(Runtime::from_wasm(&wasm)?);
    Ok(LoadCost {
        network,
        rows,
        compile: compile_started.elapsed(),
        wasm_bytes: wasm.len(),
    })
}
