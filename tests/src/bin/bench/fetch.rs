//! Section 2: `read_secret` through the C ABI on a cache hit, timed by a C caller against a
//! bare C keyring (read-write lock, open-addressing hash, memcpy), and by the Rust loader
//! against a map behind a lock.

use crate::component::plugin_dir;
use crate::servers::KEY_PREFIX;
use crate::Options;
use anyhow::{ensure, Context, Result};
use kmip_keyring_tests::fast_peer::{populated_material, FastPeer};
use kmip_keyring_tests::loader::c_reader::{self, Baseline as CBaseline, Ids, Target};
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use std::collections::HashMap;
use std::ffi::CString;
use std::path::Path;
use std::sync::RwLock;
use std::time::Instant;

/// data_id -> auth_id -> (bytes, type).
type BaselineMap = HashMap<String, HashMap<String, (Vec<u8>, String)>>;
struct Baseline(RwLock<BaselineMap>);

impl Baseline {
    /// What `LoadedComponent::read_secret` does on the caller's side (C strings in,
    /// buffers of the reported lengths out), with the keyring side a lookup and a copy.
    fn read_secret(&self, data_id: &str, auth_id: Option<&str>) -> Option<(Vec<u8>, String)> {
        let id = CString::new(data_id).ok()?;
        let auth = auth_id.map(CString::new).transpose().ok()?;
        let map = self.0.read().ok()?;
        let (data, ty) = map
            .get(id.to_str().ok()?)?
            .get(auth.as_ref().map_or("", |a| a.to_str().unwrap_or("")))?;
        let mut data_buf = vec![0u8; data.len()];
        let mut type_buf = vec![0u8; ty.len() + 1];
        data_buf.copy_from_slice(data);
        type_buf[..ty.len()].copy_from_slice(ty.as_bytes());
        type_buf.truncate(ty.len());
        Some((data_buf, String::from_utf8(type_buf).ok()?))
    }
}

pub struct Latencies {
    pub median_ns: u64,
    pub p99_ns: u64,
}

fn summarize(mut samples: Vec<u64>) -> Latencies {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Latencies {
        median_ns: at(0.5),
        p99_ns: at(0.99),
    }
}

/// Times `read` on `threads` threads at once, `samples` calls each, cycling through `ids`.
fn time_reads<F>(threads: usize, samples: usize, ids: &[String], read: F) -> Latencies
where
    F: Fn(&str) -> bool + Sync,
{
    let all: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let read = &read;
                s.spawn(move || {
                    let mut out = Vec::with_capacity(samples);
                    // Warm-up: caches, the allocator's thread state.
                    for i in 0..samples / 10 {
                        assert!(read(&ids[(i * 7 + t) % ids.len()]));
                    }
                    for i in 0..samples {
                        let id = &ids[(i * 7919 + t * 13) % ids.len()];
                        let started = Instant::now();
                        let found = std::hint::black_box(read(std::hint::black_box(id)));
                        let took = started.elapsed().as_nanos() as u64;
                        assert!(found, "key {id} not found");
                        out.push(took);
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("reader thread"))
            .collect()
    });
    summarize(all)
}

fn timer_overhead_ns() -> u64 {
    let samples: Vec<u64> = (0..100_000)
        .map(|_| {
            let started = Instant::now();
            started.elapsed().as_nanos() as u64
        })
        .collect();
    summarize(samples).median_ns
}

/// Times the C loop on `threads` threads at once, `samples` calls each.
fn time_c_reads(
    threads: usize,
    samples: usize,
    ids: &Ids,
    target: Target<'_>,
) -> Result<Latencies> {
    let all: Result<Vec<Vec<u64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || c_reader::time(target, ids, samples, t * 13)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .expect("reader thread")
                    .map_err(|failed| anyhow::anyhow!("{failed} reads failed"))
            })
            .collect()
    });
    Ok(summarize(all?.into_iter().flatten().collect()))
}

/// One row: the component and the baseline read from `threads` threads at once.
pub struct FetchRow {
    pub threads: usize,
    pub ours: Latencies,
    pub baseline: Latencies,
}

/// What section 2 measured.
pub struct Fetched {
    /// Keys loaded.
    pub n: usize,
    /// Timed calls per thread.
    pub samples: usize,
    /// What one `Instant` pair costs, included in every figure.
    pub timer_ns: u64,
    pub rows: Vec<FetchRow>,
    /// The goal's rows: C caller, component against the bare C baseline.
    pub c_rows: Vec<FetchRow>,
}

/// Loads the built component from `so` against `peer`, which holds `n` AES-256 keys
/// `<KEY_PREFIX><i>` with `populated_material(i)`, checks every key, and times reads.
pub fn run(options: Options, so: &Path, dir: &Path, peer: &FastPeer, n: usize) -> Result<Fetched> {
    let plugin = plugin_dir(dir, "fetch", &peer.config_json())?;
    let component = LoadedComponent::load_library(so)?;
    let slash = format!("{}/", plugin.display());
    ensure!(
        component.keyring_load(&slash, &slash),
        "keyring_load failed: {:?}",
        registry::log_lines()
    );
    let ids: Vec<String> = (0..n).map(|i| format!("{KEY_PREFIX}{i}")).collect();
    let baseline = Baseline(RwLock::new(HashMap::new()));
    CBaseline::reset(n);
    for (i, id) in ids.iter().enumerate() {
        let (data, ty) = component
            .read_secret(id, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_context(|| format!("{id} is not in the loaded keyring"))?;
        ensure!(
            data == populated_material(i),
            "{id} has other bytes than the server's"
        );
        CBaseline::insert(id, &data, &ty);
        baseline
            .0
            .write()
            .expect("fresh lock")
            .entry(id.clone())
            .or_default()
            .insert(String::new(), (data, ty));
    }
    let samples = if options.quick { 50_000 } else { 200_000 };
    let timer_ns = timer_overhead_ns();
    // One untimed pass of each first, so neither pays for first touches of the keys.
    time_reads(1, samples / 2, &ids, |id| {
        matches!(component.read_secret(id, None), Ok(Some(_)))
    });
    time_reads(1, samples / 2, &ids, |id| {
        baseline.read_secret(id, None).is_some()
    });
    let c_ids = Ids::new(&ids);
    time_c_reads(1, samples / 2, &c_ids, Target::Component(&component))?;
    time_c_reads(1, samples / 2, &c_ids, Target::Baseline)?;
    let mut c_rows = Vec::new();
    for threads in [1, 2] {
        c_rows.push(FetchRow {
            threads,
            ours: time_c_reads(threads, samples, &c_ids, Target::Component(&component))?,
            baseline: time_c_reads(threads, samples, &c_ids, Target::Baseline)?,
        });
    }
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let ours = time_reads(threads, samples, &ids, |id| {
            matches!(component.read_secret(id, None), Ok(Some(_)))
        });
        let baseline = time_reads(threads, samples, &ids, |id| {
            baseline.read_secret(id, None).is_some()
        });
        rows.push(FetchRow {
            threads,
            ours,
            baseline,
        });
    }
    component.shutdown()?;
    Ok(Fetched {
        n,
        samples,
        timer_ns,
        rows,
        c_rows,
    })
}
