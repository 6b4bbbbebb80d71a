//! Section 1: the startup cache fill for each N, server and latency, ours (sandboxed and native) against Percona's per-object strategy.

use crate::servers::{Servers, COSMIAN, COSMIAN_GROUP, KEY_PREFIX};
use crate::target::{fill, fill_once, Fill, Path3, Target};
use crate::Options;
use anyhow::{bail, ensure, Result};
use component_keyring_kmip::config::DEFAULT_LOCATE_PAGE_SIZE;
use component_keyring_kmip::Runtime;
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_tests::cosmian::Cosmian;
use kmip_keyring_tests::fill as server_fill;
use kmip_keyring_tests::pykmip::PyKmip;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most keys Cosmian KMS 5.28 can list for one object group: 1 000 per Locate, no
/// Offset Items, so 1 000 of each AES size (and State).
pub const COSMIAN_MAX: usize = 1000;
/// The largest N filled behind the latency proxy and on Cosmian KMS: at N = 100 000
/// Percona's strategy sends over 200 000 messages (about 8 minutes at 1 ms each way and 35
/// at 5 ms), and Cosmian KMS already refuses the load at 10 000.
pub const PROXIED_MAX: usize = 10_000;

/// The N of section 1.
pub fn sizes(options: Options) -> &'static [usize] {
    if options.quick {
        &[100, 1000]
    } else {
        &[100, 1000, 10_000, 100_000]
    }
}

/// How many keys of each type a server holds.
#[derive(Clone, Copy)]
pub struct Mix {
    pub aes: usize,
    pub secret: usize,
}

impl Mix {
    /// The fast peer's `0..n` (`FastPeer::populate_mixed`): AES at even i, SECRET at odd.
    fn alternating(n: usize) -> Self {
        Self {
            aes: n.div_ceil(2),
            secret: n / 2,
        }
    }

    /// AES keys only (PyKMIP, Cosmian KMS).
    fn aes(n: usize) -> Self {
        Self { aes: n, secret: 0 }
    }
}

/// The README's bound on the request messages of a load of `mix` at the default page size
/// ([`kmip_keyring_rules::load_message_bound`]).
pub fn message_bound(mix: Mix) -> u64 {
    kmip_keyring_rules::load_message_bound(mix.aes, mix.secret, DEFAULT_LOCATE_PAGE_SIZE)
}

/// One fill, from one server at one latency, three ways.
pub struct FillRow {
    pub server: String,
    pub latency_ms: u64,
    pub n: usize,
    pub mix: Mix,
    pub wasm: Fill,
    pub native: Fill,
    pub percona: Fill,
}

/// What section 1 measured.
pub struct StartupFill {
    pub rows: Vec<FillRow>,
    /// Keys added to PyKMIP by each fill, and how long it took.
    pub pykmip_fills: Vec<(usize, Duration)>,
    /// Cosmian KMS's fill times and refusals.
    pub cosmian_notes: Vec<String>,
    /// The largest N run on PyKMIP.
    pub pykmip_max: usize,
    /// The largest N of the run.
    pub largest: usize,
}

/// Fills the servers up to each N of [`sizes`] and loads from each.
pub fn run(
    options: Options,
    runtime: &Arc<Runtime>,
    servers: &Servers,
    dir: &Path,
) -> Result<StartupFill> {
    let sizes = sizes(options);
    let pykmip_max = if options.exhaustive { 10_000 } else { 1000 };
    let mut out = StartupFill {
        rows: Vec::new(),
        pykmip_fills: Vec::new(),
        cosmian_notes: Vec::new(),
        pykmip_max,
        largest: sizes.iter().copied().max().unwrap_or(0),
    };
    let (mut on_peer, mut on_pykmip, mut on_cosmian) = (0, 0, 0);
    for &n in sizes {
        servers.peer.populate_mixed(on_peer..n, KEY_PREFIX, None);
        on_peer = n;
        let latencies: &[u64] = if n <= PROXIED_MAX { &[0, 1, 5] } else { &[0] };
        for &latency in latencies {
            servers.proxy.set_latency(Duration::from_millis(latency));
            let target = if latency == 0 {
                &servers.fast
            } else {
                &servers.proxied
            };
            out.rows
                .push(fill_row(runtime, target, latency, Mix::alternating(n))?);
        }
        if n <= pykmip_max {
            let t = Instant::now();
            fill_pykmip(&servers.pykmip, dir, on_pykmip, n)?;
            out.pykmip_fills.push((n - on_pykmip, t.elapsed()));
            on_pykmip = n;
            out.rows
                .push(fill_row(runtime, &servers.py, 0, Mix::aes(n))?);
        }
        if let (Some(server), Some(target)) = (&servers.cosmian, &servers.cos) {
            if n <= PROXIED_MAX {
                let t = Instant::now();
                fill_cosmian(server, dir, on_cosmian, n)?;
                out.cosmian_notes.push(format!(
                    "Filling Cosmian KMS: {} keys of mixed AES sizes (16, 24, 32 bytes) by batched Register + Activate took {:.1} s.",
                    n - on_cosmian,
                    t.elapsed().as_secs_f64()
                ));
                on_cosmian = n;
                cosmian_load(runtime, target, n, &mut out)?;
            }
        }
    }
    servers.proxy.set_latency(Duration::ZERO);
    Ok(out)
}

/// Loads `n` keys from Cosmian KMS: a row when it can list them, else the refusal, which
/// it must give rather than succeed with fewer keys (shown, not timed).
fn cosmian_load(
    runtime: &Arc<Runtime>,
    target: &Target,
    n: usize,
    out: &mut StartupFill,
) -> Result<()> {
    if n <= COSMIAN_MAX {
        out.rows.push(fill_row(runtime, target, 0, Mix::aes(n))?);
        return Ok(());
    }
    let refused = match fill_once(target, Path3::Wasm, runtime) {
        Ok(f) => bail!(
            "{COSMIAN}: a load of N = {n} found {} keys instead of being refused",
            f.keys
        ),
        Err(e) => e.to_string(),
    };
    out.cosmian_notes.push(format!("{COSMIAN}, N = {n} (more than 1 000 of one AES size): the load is refused, as it must be: {refused}"));
    Ok(())
}

/// Fills from `target`, which holds `mix`, three ways.
fn fill_row(runtime: &Arc<Runtime>, target: &Target, latency_ms: u64, mix: Mix) -> Result<FillRow> {
    let n = mix.aes + mix.secret;
    eprintln!(
        "bench: cache fill, {}, {latency_ms} ms, N = {n}",
        target.label
    );
    let wasm = fill(target, Path3::Wasm, runtime)?;
    let native = fill(target, Path3::Native(LoadStrategy::Batched), runtime)?;
    let percona = fill(target, Path3::Native(LoadStrategy::PerObject), runtime)?;
    for (how, loaded) in [
        ("sandboxed", &wasm),
        ("native", &native),
        ("Percona's", &percona),
    ] {
        ensure!(
            loaded.keys == n,
            "{}: the {how} load found {} keys, expected {n}",
            target.label,
            loaded.keys
        );
    }
    Ok(FillRow {
        server: target.label.clone(),
        latency_ms,
        n,
        mix,
        wasm,
        native,
        percona,
    })
}

/// Fills Cosmian KMS's [`COSMIAN_GROUP`] with AES keys named `<KEY_PREFIX><i>` for i in
/// `from..to`, of 16, 24 and 32 bytes in turn (tests/src/fill.rs).
fn fill_cosmian(server: &Cosmian, dir: &Path, from: usize, to: usize) -> Result<()> {
    let mut conn = server_fill::connect(&server.config_json(None), dir)?;
    let sizes = [16, 24, 32];
    let keys: Vec<server_fill::Key> = (from..to)
        .map(|i| server_fill::Key {
            name: format!("{KEY_PREFIX}{i}"),
            material: key_material(i)[..sizes[i % 3]].to_vec(),
        })
        .collect();
    server_fill::fill(&mut conn, Some(COSMIAN_GROUP), &keys)?;
    Ok(())
}

/// Fills PyKMIP with AES keys named `<KEY_PREFIX><i>` for i in `from..to`, as the keyring
/// registers them but many per message (tests/src/fill.rs).
fn fill_pykmip(server: &PyKmip, dir: &Path, from: usize, to: usize) -> Result<()> {
    let mut conn = server_fill::connect(&server.config_json(None), dir)?;
    let keys: Vec<server_fill::Key> = (from..to)
        .map(|i| server_fill::Key {
            name: format!("{KEY_PREFIX}{i}"),
            material: key_material(i).to_vec(),
        })
        .collect();
    server_fill::fill(&mut conn, None, &keys)?;
    Ok(())
}

fn key_material(i: usize) -> [u8; 32] {
    let mut key = [0x5Au8; 32];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key
}
