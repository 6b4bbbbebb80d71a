//! `bench --profile <what>`: one operation in a loop, to run under `perf record` or `valgrind --tool=callgrind`.

use crate::component::{component_so, plugin_dir};
use crate::operations::{ops_round, OpTimes};
use crate::servers::KEY_PREFIX;
use crate::target::{fill_once, Path3, Target};
use anyhow::{bail, ensure, Result};
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_tests::fast_peer::FastPeer;
use kmip_keyring_tests::loader::LoadedComponent;
use kmip_keyring_tests::native_platform::Counters;
use kmip_keyring_tests::runtime;
use std::time::Instant;

/// A loop to run under `perf record` or `valgrind --tool=callgrind`: `ops-wasm`,
/// `ops-native` (store, generate, remove at the fast peer), `fill-wasm`, `fill-native` (a
/// cache fill of 1000 keys) or `fetch` (1000 C-ABI reads per round), repeated
/// `BENCH_PROFILE_ROUNDS` times (200), with nothing else in the process's profile.
pub fn run(what: &str) -> Result<()> {
    let dir = tempfile::Builder::new().prefix("kmip-bench-").tempdir()?;
    let runtime = runtime();
    let peer = FastPeer::start()?;
    let target = Target::new("fast peer", &peer.config_json(), dir.path(), None)?;
    let rounds: usize = std::env::var("BENCH_PROFILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let counters = Counters::shared();
    let started = Instant::now();
    match what {
        "ops-wasm" => {
            let mut sandbox = target.sandbox(&runtime, &counters);
            let mut times = OpTimes::new();
            for i in 0..rounds {
                ops_round(&mut sandbox, "w", i, true, &mut times)?;
            }
        }
        "ops-native" => {
            let mut logic = target.native(LoadStrategy::Batched, &counters)?;
            let mut times = OpTimes::new();
            for i in 0..rounds {
                ops_round(&mut logic, "n", i, true, &mut times)?;
            }
        }
        "fill-wasm" | "fill-native" => {
            peer.populate(0..1000, KEY_PREFIX, None);
            let path = if what == "fill-wasm" {
                Path3::Wasm
            } else {
                Path3::Native(LoadStrategy::Batched)
            };
            for _ in 0..rounds {
                fill_once(&target, path, &runtime)?;
            }
        }
        "fetch" => {
            peer.populate(0..10_000, KEY_PREFIX, None);
            let plugin = plugin_dir(dir.path(), "fetch", &peer.config_json())?;
            let component = LoadedComponent::load_library(&component_so()?)?;
            let slash = format!("{}/", plugin.display());
            ensure!(
                component.keyring_load(&slash, &slash),
                "keyring_load failed"
            );
            let ids: Vec<String> = (0..10_000).map(|i| format!("{KEY_PREFIX}{i}")).collect();
            for i in 0..rounds * 1000 {
                let id = &ids[(i * 7919) % ids.len()];
                ensure!(matches!(component.read_secret(id, None), Ok(Some(_))));
            }
            component.shutdown()?;
        }
        _ => bail!("usage: bench --profile <ops-wasm|ops-native|fill-wasm|fill-native|fetch>"),
    }
    eprintln!(
        "{what}: {rounds} rounds in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
