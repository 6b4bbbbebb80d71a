//! Load/unload and RELOAD cycles of the built component, for a leak checker:
//! `leak_cycles <cycles> <reloads per cycle>` (scripts/leak-check.sh runs it under valgrind's
//! memcheck). Each cycle does what mysqld does with a component over its life: dlopen, init,
//! a first `keyring_load`, then `reloads` more (ALTER INSTANCE RELOAD KEYRING), each followed
//! by a read of every key, then deinit and dlclose. A fast KMIP peer in this process holds the
//! keys, over real TLS on loopback. Prints resident memory and open descriptors at the start,
//! after the first cycle and at the end.

use anyhow::{bail, ensure, Context, Result};
use kmip_keyring_tests::fast_peer::{populated_material, FastPeer};
use kmip_keyring_tests::install::built_component;
use kmip_keyring_tests::loader::LoadedComponent;

/// Keys on the peer: enough that every load fetches in more than one batch message.
const KEYS: usize = 150;
/// The ids the peer's keys are registered under.
const PREFIX: &str = "leak-";

/// VmRSS of this process in KiB.
fn rss_kib() -> u64 {
    kmip_keyring_tests::proc_status_kib("VmRSS:")
}

/// Descriptors this process holds open.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().with_context(|| format!("{a}: not a number")))
        .collect::<Result<_>>()?;
    let [cycles, reloads] = args.as_slice() else {
        bail!("usage: leak_cycles <cycles> <reloads per cycle>");
    };
    // Cargo's build of the component: the same code as the installable file, with the
    // symbols a leak checker needs to name a frame (and tests/valgrind.supp to match one).
    let so = built_component()?;
    let peer = FastPeer::start()?;
    peer.populate(0..KEYS, PREFIX, None);
    let dir = tempfile::Builder::new().prefix("kmip-leak-").tempdir()?;
    std::fs::write(
        dir.path().join("component_keyring_kmip.cnf"),
        peer.config_json().to_string(),
    )?;
    let slash = format!("{}/", dir.path().display());
    let ids: Vec<String> = (0..KEYS).map(|i| format!("{PREFIX}{i}")).collect();
    println!(
        "start: RSS {} KiB, {} open descriptors",
        rss_kib(),
        open_fds()
    );
    let mut reads = 0usize;
    for cycle in 0..*cycles {
        let component = LoadedComponent::load_library(&so)?;
        for load in 0..=*reloads {
            ensure!(
                component.keyring_load(&slash, &slash),
                "cycle {cycle}, load {load}: keyring_load failed"
            );
            for (i, id) in ids.iter().enumerate() {
                let read = component
                    .read_secret(id, None)
                    .map_err(|e| anyhow::anyhow!("cycle {cycle}, load {load}, {id}: {e:?}"))?;
                let Some((data, _)) = read else {
                    bail!("cycle {cycle}, load {load}: {id} is missing");
                };
                ensure!(
                    data == populated_material(i),
                    "cycle {cycle}, load {load}: {id} reads back other bytes"
                );
                reads += 1;
            }
        }
        component.shutdown()?;
        if cycle == 0 {
            println!(
                "after the first cycle: RSS {} KiB, {} open descriptors",
                rss_kib(),
                open_fds()
            );
        }
    }
    println!(
        "end: RSS {} KiB, {} open descriptors; {cycles} load/unload cycles, {} RELOADs, {reads} keys read back",
        rss_kib(),
        open_fds(),
        cycles * reloads
    );
    Ok(())
}
