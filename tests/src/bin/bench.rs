//! The benchmark: cache fill against Percona's per-object strategy (fast peer, PyKMIP, Cosmian KMS), C-ABI fetch, sandbox overhead, load cost, memory, and PyKMIP's own client as reference; prints Markdown tables.
//!
//! Every figure comes from this run on this machine: both load strategies are the same
//! guest core (the per-object one is a bench-only mode of it), both servers run here, and
//! the latency proxy sits on loopback. Load cost and memory are measured in child
//! processes of this binary (`--child ...`), so each starts from a clean process.
//!
//! Usage: `bench [--quick] [--exhaustive]`. `--quick` runs N = 100 and 1000 with fewer
//! samples; `--exhaustive` also runs PyKMIP with 10 000 keys (minutes per strategy, as
//! PyKMIP spends about 2 ms on each Get and Get Attributes).

use anyhow::{bail, ensure, Context, Result};
use component_keyring_kmip::broker::{Broker, Dialer};
use component_keyring_kmip::sandbox::GuestSettings;
use component_keyring_kmip::sandbox::Sandbox;
use component_keyring_kmip::{Config, LogLevel, LogSink, Runtime};
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::{KeyringLogic, Settings};
use kmip_keyring_tests::cosmian::Cosmian;
use kmip_keyring_tests::fast_peer::{populated_material, FastPeer};
use kmip_keyring_tests::fault_proxy::FaultProxy;
use kmip_keyring_tests::fill;
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::native_platform::{Counters, CountingDialer, NativePlatform, Traffic};
use kmip_keyring_tests::pykmip::{venv, PyKmip};
use kmip_keyring_tests::{runtime, workspace_root};
use std::collections::HashMap;
use std::ffi::CString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// What the component itself uses (the configuration's defaults).
use component_keyring_kmip::config::{DEFAULT_LOCATE_PAGE_SIZE, FETCH_BATCH_SIZE};
/// An Object Group nothing is registered in: loads that fetch no key.
const EMPTY_GROUP: &str = "bench-empty";
/// Prefix of the keys the load sections put on the servers.
const KEY_PREFIX: &str = "bench-key-";
/// The second real server's label in the tables.
const COSMIAN: &str = "Cosmian KMS";
/// Cosmian KMS's Object Group for the load section's keys.
const COSMIAN_GROUP: &str = "bench-cosmian";
/// The most keys Cosmian KMS 5.28 can list for one object group: 1 000 per Locate, no
/// Offset Items, so 1 000 of each AES size (and State).
const COSMIAN_MAX: usize = 1000;

#[derive(Clone, Copy)]
struct Options {
    quick: bool,
    exhaustive: bool,
}

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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

fn kib(bytes: u64) -> String {
    if bytes >= 10 * 1024 {
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// A server the load and operation sections talk to.
struct Target {
    label: String,
    config: Config,
    broker: Broker,
}

impl Target {
    fn new(label: &str, json: &serde_json::Value, dir: &Path, group: Option<&str>) -> Result<Self> {
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
    fn native(
        &self,
        strategy: LoadStrategy,
        counters: &Arc<Counters>,
    ) -> Result<KeyringLogic<NativePlatform>> {
        let platform = NativePlatform::new(self.broker.clone(), counters.clone(), null_log());
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
    fn sandbox(&self, runtime: &Arc<Runtime>, counters: &Arc<Counters>) -> Sandbox {
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
struct Fill {
    wall: Duration,
    keys: usize,
    traffic: Traffic,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Path3 {
    Wasm,
    Native(LoadStrategy),
}

fn fill_once(target: &Target, path: Path3, runtime: &Arc<Runtime>) -> Result<Fill> {
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
fn fill(target: &Target, path: Path3, runtime: &Arc<Runtime>) -> Result<Fill> {
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

/// Fills Cosmian KMS's [`COSMIAN_GROUP`] with AES keys named `<KEY_PREFIX><i>` for i in
/// `from..to`, of 16, 24 and 32 bytes in turn (tests/src/fill.rs).
fn fill_cosmian(server: &Cosmian, dir: &Path, from: usize, to: usize) -> Result<()> {
    let mut conn = fill::connect(&server.config_json(None), dir)?;
    let sizes = [16, 24, 32];
    let keys: Vec<fill::Key> = (from..to)
        .map(|i| fill::Key {
            name: format!("{KEY_PREFIX}{i}"),
            material: key_material(i)[..sizes[i % 3]].to_vec(),
        })
        .collect();
    fill::fill(&mut conn, Some(COSMIAN_GROUP), &keys)?;
    Ok(())
}

/// Fills PyKMIP with AES keys named `<KEY_PREFIX><i>` for i in `from..to`, as the keyring
/// registers them but many per message (tests/src/fill.rs).
fn fill_pykmip(server: &PyKmip, dir: &Path, from: usize, to: usize) -> Result<()> {
    let mut conn = fill::connect(&server.config_json(None), dir)?;
    let keys: Vec<fill::Key> = (from..to)
        .map(|i| fill::Key {
            name: format!("{KEY_PREFIX}{i}"),
            material: key_material(i).to_vec(),
        })
        .collect();
    fill::fill(&mut conn, None, &keys)?;
    Ok(())
}

fn key_material(i: usize) -> [u8; 32] {
    let mut key = [0x5Au8; 32];
    key[..8].copy_from_slice(&(i as u64).to_be_bytes());
    key
}

/// Section 1: the cache fill for each N, server and latency.
struct FillRow {
    server: String,
    latency_ms: u64,
    n: usize,
    wasm: Fill,
    native: Fill,
    percona: Fill,
}

/// Fills from `target` three ways and adds the row.
fn fill_row(
    runtime: &Arc<Runtime>,
    target: &Target,
    latency_ms: u64,
    n: usize,
    rows: &mut Vec<FillRow>,
) -> Result<()> {
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
    rows.push(FillRow {
        server: target.label.clone(),
        latency_ms,
        n,
        wasm,
        native,
        percona,
    });
    Ok(())
}

/// The README's bound on the request messages of a load of `n` keys of one type from a
/// server that answers Locate pages in full.
fn message_bound(n: usize) -> u64 {
    let page = DEFAULT_LOCATE_PAGE_SIZE as usize;
    let locate_rounds = n.saturating_sub(1).div_ceil(page - 1) + 1;
    (1 + locate_rounds + n.div_ceil(FETCH_BATCH_SIZE as usize)) as u64
}

fn print_fill(rows: &[FillRow]) -> bool {
    println!("## 1. Startup cache fill (load with N keys on the server)\n");
    println!("Goals: our strategy needs at most the README's bound of request messages (round trips), 1 + (ceil((N-1)/(P-1)) + 1) + ceil(N/100) for N keys of one type and Locate pages of P = {DEFAULT_LOCATE_PAGE_SIZE} answered in full (Discover Versions, Locate pages overlapping by one until one brings nothing new, one fetch message per 100 keys); at 5 ms each way it is at least 10x faster than Percona's.");
    println!("\"ours\" is the batched strategy (Get + Get Attributes for 100 objects per message), through the wasm sandbox as the component runs it and as the same core compiled natively; \"Percona's\" is the bench-only per-object mode of the same core (Locate pages, then one Get message and one Get Attributes message per key), natively. Each figure is a whole fill from a fresh TLS connection, median of 5 when under 1 s. msgs = KMIP request messages (= round trips), conns = TLS handshakes; bytes are KMIP bytes sent / received (ours through the sandbox).\n");
    println!("| server | latency each way | N | ours, sandboxed | ours, native | Percona's | ours msgs (conns) | Percona's msgs | ours bytes sent / recv | Percona's bytes sent / recv | speedup (Percona's / ours sandboxed) | msgs <= bound | >= 10x at 5 ms |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut all = true;
    for r in rows {
        let goal_rt = r.wasm.traffic.messages <= message_bound(r.n);
        let speedup = r.percona.wall.as_secs_f64() / r.wasm.wall.as_secs_f64();
        let goal_speed = if r.latency_ms == 5 {
            let ok = speedup >= 10.0;
            all &= ok;
            pass(ok).to_owned()
        } else {
            "-".to_owned()
        };
        // The bound holds for servers that page; Cosmian KMS cannot, and its listing is
        // split by filters instead (README, KMIP servers).
        let pages = r.server != COSMIAN;
        if pages {
            all &= goal_rt;
        }
        let mismatch = if r.native.traffic.messages != r.wasm.traffic.messages {
            format!(" [native: {}]", r.native.traffic.messages)
        } else {
            String::new()
        };
        println!(
            "| {} | {} ms | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} ({}){mismatch} | {} | {} / {} | {} / {} | {:.1}x | {} | {} |",
            r.server,
            r.latency_ms,
            r.n,
            ms(r.wasm.wall),
            ms(r.native.wall),
            ms(r.percona.wall),
            r.wasm.traffic.messages,
            r.wasm.traffic.connections,
            r.percona.traffic.messages,
            kib(r.wasm.traffic.bytes_sent),
            kib(r.wasm.traffic.bytes_received),
            kib(r.percona.traffic.bytes_sent),
            kib(r.percona.traffic.bytes_received),
            speedup,
            if pages { pass(goal_rt) } else { "- (cannot page)" },
            goal_speed,
        );
    }
    println!();
    all
}

/// Section 2: `read_secret` through the C ABI against a map behind a lock.
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

struct Latencies {
    median_ns: u64,
    p99_ns: u64,
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

/// The installable component: the stripped copy `scripts/build-component.sh` writes, or
/// cargo's, whichever is newer.
fn component_so() -> Result<PathBuf> {
    let stripped = workspace_root().join("target/release/component_keyring_kmip.so");
    let candidates = [
        Some(stripped),
        kmip_keyring_tests::install::built_component().ok(),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| {
            anyhow::anyhow!("the component is not built: run scripts/build-component.sh")
        })
}

/// A plugin dir whose `component_keyring_kmip.cnf` says `config`.
fn plugin_dir(root: &Path, name: &str, config: &serde_json::Value) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("component_keyring_kmip.cnf"), config.to_string())?;
    Ok(dir)
}

fn fetch_section(
    options: Options,
    so: &Path,
    dir: &Path,
    peer: &FastPeer,
    n: usize,
) -> Result<bool> {
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
    for (i, id) in ids.iter().enumerate() {
        let (data, ty) = component
            .read_secret(id, None)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_context(|| format!("{id} is not in the loaded keyring"))?;
        ensure!(
            data == populated_material(i),
            "{id} has other bytes than the server's"
        );
        baseline
            .0
            .write()
            .expect("fresh lock")
            .entry(id.clone())
            .or_default()
            .insert(String::new(), (data, ty));
    }
    let samples = if options.quick { 50_000 } else { 200_000 };
    let timer = timer_overhead_ns();
    println!("## 2. Fetch through the C ABI on a cache hit\n");
    println!("Goals: median <= 1 us, and <= 3x the baseline. One fetch = reader init -> fetch_length -> fetch -> deinit, as MySQL's read_secret does (C strings in, buffers of the reported lengths out), through the built .so loaded by the tests' mysqld-style loader; {n} AES-256 keys loaded, keys picked round-robin. Baseline: the same caller-side steps over a HashMap behind an RwLock that copies the same bytes. {samples} timed calls per thread after warm-up; each call timed alone (the timer's own ~{timer} ns is included in every figure).\n");
    println!("| threads | component median | component p99 | baseline median | baseline p99 | median / baseline | median <= 1 us | <= 3x baseline |");
    println!("|---:|---:|---:|---:|---:|---:|---|---|");
    let mut all = true;
    // One untimed pass of each first, so neither pays for first touches of the keys.
    time_reads(1, samples / 2, &ids, |id| {
        matches!(component.read_secret(id, None), Ok(Some(_)))
    });
    time_reads(1, samples / 2, &ids, |id| {
        baseline.read_secret(id, None).is_some()
    });
    for threads in [1, 2] {
        let ours = time_reads(threads, samples, &ids, |id| {
            matches!(component.read_secret(id, None), Ok(Some(_)))
        });
        let base = time_reads(threads, samples, &ids, |id| {
            baseline.read_secret(id, None).is_some()
        });
        let ratio = ours.median_ns as f64 / base.median_ns as f64;
        let (a, b) = (ours.median_ns <= 1000, ratio <= 3.0);
        all &= a && b;
        println!(
            "| {threads} | {} ns | {} ns | {} ns | {} ns | {ratio:.2}x | {} | {} |",
            ours.median_ns,
            ours.p99_ns,
            base.median_ns,
            base.p99_ns,
            pass(a),
            pass(b)
        );
    }
    println!();
    component.shutdown()?;
    Ok(all)
}

/// Section 3: store, generate, remove through the sandbox and natively.
/// Wall time and the calling thread's CPU time of each operation.
struct OpTimes {
    store: Vec<Duration>,
    generate: Vec<Duration>,
    remove: Vec<Duration>,
    store_cpu: Vec<Duration>,
    generate_cpu: Vec<Duration>,
    remove_cpu: Vec<Duration>,
}

impl OpTimes {
    fn new() -> Self {
        Self {
            store: Vec::new(),
            generate: Vec::new(),
            remove: Vec::new(),
            store_cpu: Vec::new(),
            generate_cpu: Vec::new(),
            remove_cpu: Vec::new(),
        }
    }
}

/// CPU time this thread has run, in nanoseconds, from the scheduler's own accounting
/// (`/proc/thread-self/schedstat`, first field): unlike wall time, it leaves out the
/// waits for the peer's thread, which on two shared cores swing wall-clock medians of
/// microsecond operations by a factor of two between runs.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Times one operation: wall time and the calling thread's CPU time.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration, Duration)> {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    let value = f()?;
    // The schedstat read itself costs a few microseconds of CPU on both paths alike.
    Ok((value, wall.elapsed(), thread_cpu().saturating_sub(cpu)))
}

/// The three keyring operations, as the sandboxed guest and the native core offer them.
trait KeyOps {
    fn store(&mut self, id: &str, key: &[u8]) -> Result<String>;
    /// Returns the new object's id.
    fn generate(&mut self, id: &str) -> Result<String>;
    fn remove(&mut self, object_id: &str) -> Result<()>;
}

impl KeyOps for Sandbox {
    fn store(&mut self, id: &str, key: &[u8]) -> Result<String> {
        Sandbox::store(self, id, "", "AES", key).map_err(|e| anyhow::anyhow!("sandboxed: {e}"))
    }
    fn generate(&mut self, id: &str) -> Result<String> {
        Sandbox::generate(self, id, "", "AES", 32)
            .map(|k| k.object_id)
            .map_err(|e| anyhow::anyhow!("sandboxed: {e}"))
    }
    fn remove(&mut self, object_id: &str) -> Result<()> {
        Sandbox::remove(self, object_id).map_err(|e| anyhow::anyhow!("sandboxed: {e}"))
    }
}

impl KeyOps for KeyringLogic<NativePlatform> {
    fn store(&mut self, id: &str, key: &[u8]) -> Result<String> {
        KeyringLogic::store(self, id, "", "AES", key).map_err(|e| anyhow::anyhow!("native: {e}"))
    }
    fn generate(&mut self, id: &str) -> Result<String> {
        KeyringLogic::generate(self, id, "", "AES", 32)
            .map(|k| k.object_id)
            .map_err(|e| anyhow::anyhow!("native: {e}"))
    }
    fn remove(&mut self, object_id: &str) -> Result<()> {
        KeyringLogic::remove(self, object_id).map_err(|e| anyhow::anyhow!("native: {e}"))
    }
}

/// One round: store, generate, and remove both keys, each timed; kept unless warming up.
fn ops_round(
    ops: &mut impl KeyOps,
    tag: &str,
    i: usize,
    warm: bool,
    t: &mut OpTimes,
) -> Result<()> {
    let (store_id, gen_id) = (format!("ops-{tag}-s-{i}"), format!("ops-{tag}-g-{i}"));
    let key = [0x42u8; 32];
    let (stored, store, store_cpu) = timed(|| ops.store(&store_id, &key))?;
    let (generated, generate, generate_cpu) = timed(|| ops.generate(&gen_id))?;
    let ((), remove_a, cpu_a) = timed(|| ops.remove(&stored))?;
    let ((), remove_b, cpu_b) = timed(|| ops.remove(&generated))?;
    if warm {
        record(
            t,
            [store, generate, remove_a, remove_b],
            [store_cpu, generate_cpu, cpu_a, cpu_b],
        );
    }
    Ok(())
}

fn record(t: &mut OpTimes, wall: [Duration; 4], cpu: [Duration; 4]) {
    t.store.push(wall[0]);
    t.generate.push(wall[1]);
    t.remove.extend([wall[2], wall[3]]);
    t.store_cpu.push(cpu[0]);
    t.generate_cpu.push(cpu[1]);
    t.remove_cpu.extend([cpu[2], cpu[3]]);
}

/// Runs `iterations` rounds of store, generate, remove, remove on both paths, alternating
/// which goes first so drift on a shared machine hits both alike.
fn ops(target: &Target, runtime: &Arc<Runtime>, iterations: usize) -> Result<(OpTimes, OpTimes)> {
    let warmup = 5;
    let counters = Counters::shared();
    let mut sandbox = target.sandbox(runtime, &counters);
    let mut logic = target.native(LoadStrategy::Batched, &counters)?;
    let (mut wasm, mut native) = (OpTimes::new(), OpTimes::new());
    for i in 0..iterations + warmup {
        let warm = i >= warmup;
        if i % 2 == 0 {
            ops_round(&mut sandbox, "w", i, warm, &mut wasm)?;
            ops_round(&mut logic, "n", i, warm, &mut native)?;
        } else {
            ops_round(&mut logic, "n", i, warm, &mut native)?;
            ops_round(&mut sandbox, "w", i, warm, &mut wasm)?;
        }
    }
    Ok((wasm, native))
}

/// PyKMIP's own Python client: the same operations against the same server.
const PYTHON_REFERENCE: &str = r#"
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
from kmip.core import enums
from kmip.core.factories import attributes as attribute_factory
from kmip.pie import client as pie_client
from kmip.pie import objects

host, port, cert, key, ca, iterations, loads = sys.argv[1:8]
iterations = int(iterations)
client = pie_client.ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca, config_file="/dev/null")
mask = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]
out = {"store": [], "generate": [], "remove": [], "load": {}}
def register(name, material):
    uid = client.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, material, mask, name=name))
    client.activate(uid)
    return uid
def remove(uid):
    client.revoke(enums.RevocationReasonCode.UNSPECIFIED, uid, revocation_message="Deleting the key")
    client.destroy(uid)
with client:
    for i in range(iterations + 5):
        t = time.perf_counter(); a = register("py-s-%d" % i, b"\x42" * 32); store = time.perf_counter() - t
        t = time.perf_counter(); b = register("py-g-%d" % i, os.urandom(32)); generate = time.perf_counter() - t
        t = time.perf_counter(); remove(a); ra = time.perf_counter() - t
        t = time.perf_counter(); remove(b); rb = time.perf_counter() - t
        if i >= 5:
            out["store"].append(store); out["generate"].append(generate); out["remove"] += [ra, rb]
    if loads:
        factory = attribute_factory.AttributeFactory()
        t = time.perf_counter()
        uids = client.locate(attributes=[factory.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY)])
        for uid in uids:
            client.get(uid)
            client.get_attributes(uid, ["Name", "State", "Application Specific Information"])
        out["load"][str(len(uids))] = time.perf_counter() - t
print(json.dumps(out))
"#;

struct PythonTimes {
    store: Vec<Duration>,
    generate: Vec<Duration>,
    remove: Vec<Duration>,
    load: Option<(usize, Duration)>,
}

fn python_reference(server: &PyKmip, iterations: usize, with_load: bool) -> Result<PythonTimes> {
    let output = Command::new(venv().join("bin").join("python"))
        .arg("-c")
        .arg(PYTHON_REFERENCE)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(&server.pki.client_cert)
        .arg(&server.pki.client_key)
        .arg(&server.pki.ca)
        .arg(iterations.to_string())
        .arg(if with_load { "load" } else { "" })
        .stdin(Stdio::null())
        .output()
        .context("running PyKMIP's client")?;
    if !output.status.success() {
        bail!(
            "PyKMIP's client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let durations = |name: &str| -> Vec<Duration> {
        json[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_f64())
                    .map(Duration::from_secs_f64)
                    .collect()
            })
            .unwrap_or_default()
    };
    let load = json["load"].as_object().and_then(|m| {
        m.iter()
            .next()
            .and_then(|(n, t)| Some((n.parse().ok()?, Duration::from_secs_f64(t.as_f64()?))))
    });
    Ok(PythonTimes {
        store: durations("store"),
        generate: durations("generate"),
        remove: durations("remove"),
        load,
    })
}

/// Runs this binary again as a child (`--child <what> ...`) and parses its JSON line.
fn child(args: &[&str]) -> Result<serde_json::Value> {
    let output = Command::new(std::env::current_exe()?)
        .arg("--child")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !output.status.success() {
        bail!(
            "child {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("child {args:?} printed {stdout:?}"))
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The child side: loads the component from `so`, runs `keyring_load` on `plugin`, and
/// prints one JSON line of figures.
fn run_child(what: &str, so: &Path, plugin: &Path) -> Result<()> {
    let slash = format!("{}/", plugin.display());
    let component = LoadedComponent::load_library(so)?;
    let before = status_kib("VmRSS:");
    let started = Instant::now();
    ensure!(
        component.keyring_load(&slash, &slash),
        "keyring_load failed: {:?}",
        registry::log_lines()
    );
    let first = started.elapsed();
    let after = status_kib("VmRSS:");
    let peak = status_kib("VmHWM:");
    let keys = registry::log_lines()
        .iter()
        .find_map(|(_, l)| {
            // "Keyring component initialized successfully. N keys loaded from ..."
            l.split(" keys loaded from ")
                .next()
                .filter(|head| head.len() < l.len())
                .and_then(|head| head.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let mut reloads = Vec::new();
    if what == "load-cost" {
        for _ in 0..5 {
            let started = Instant::now();
            ensure!(component.keyring_load(&slash, &slash), "reload failed");
            reloads.push(started.elapsed());
        }
    }
    component.shutdown()?;
    println!(
        "{}",
        serde_json::json!({
            "first_ms": ms(first),
            "reload_ms": if reloads.is_empty() { 0.0 } else { ms(median(&reloads)) },
            "rss_before_kib": before,
            "rss_after_kib": after,
            "rss_peak_kib": peak,
            "keys": keys,
        })
    );
    Ok(())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_owned(), |m| m.trim().to_owned());
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |k| k / 1024.0 / 1024.0);
    let mut out = String::new();
    let _ = writeln!(out, "| machine | |\n|---|---|");
    let _ = writeln!(
        out,
        "| CPUs (nproc) | {} |",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(out, "| CPU model | {model} |");
    let _ = writeln!(out, "| kernel | {} |", read("/proc/sys/kernel/osrelease"));
    let _ = writeln!(out, "| memory | {mem_gib:.1} GiB |");
    let _ = writeln!(out, "| load average at start | {} |", read("/proc/loadavg"));
    out
}

/// A loop to run under `perf record` or `valgrind --tool=callgrind`: `ops-wasm`,
/// `ops-native` (store, generate, remove at the fast peer), `fill-wasm`, `fill-native` (a
/// cache fill of 1000 keys) or `fetch` (1000 C-ABI reads per round), repeated
/// `BENCH_PROFILE_ROUNDS` times (200), with nothing else in the process's profile.
fn profile(what: &str) -> Result<()> {
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

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, what, so, plugin] = args.as_slice() else {
            bail!("usage: bench --child <rss|load-cost> <component.so> <plugin dir>");
        };
        return run_child(what, Path::new(so), Path::new(plugin));
    }
    if args.first().map(String::as_str) == Some("--profile") {
        return profile(args.get(1).map_or("", String::as_str));
    }
    let options = Options {
        quick: args.iter().any(|a| a == "--quick"),
        exhaustive: args.iter().any(|a| a == "--exhaustive"),
    };
    if let Some(other) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--quick" | "--exhaustive"))
    {
        bail!("unknown argument {other}; usage: bench [--quick] [--exhaustive]");
    }
    let started = Instant::now();
    let so = component_so()?;
    let dir = tempfile::Builder::new().prefix("kmip-bench-").tempdir()?;
    let sizes: &[usize] = if options.quick {
        &[100, 1000]
    } else {
        &[100, 1000, 10_000]
    };
    let pykmip_max = if options.exhaustive { 10_000 } else { 1000 };

    println!(
        "# component_keyring_kmip benchmark{}\n",
        if options.quick { " (--quick)" } else { "" }
    );
    println!("{}", machine());
    eprintln!("bench: compiling the guest, starting PyKMIP and the fast peer");
    let runtime = runtime();
    let peer = FastPeer::start()?;
    let proxy = FaultProxy::start(([127, 0, 0, 1], peer.port).into())?;
    let pykmip = PyKmip::start()?;
    let fast = Target::new("fast peer", &peer.config_json(), dir.path(), None)?;
    let proxied = Target::new(
        "fast peer via proxy",
        &peer.config_json_for(proxy.port()),
        dir.path(),
        None,
    )?;
    let py = Target::new("PyKMIP", &pykmip.config_json(None), dir.path(), None)?;
    let cosmian = match kmip_keyring_tests::cosmian::binary() {
        Ok(_) => Some(Cosmian::start()?),
        Err(reason) => {
            eprintln!("bench: no Cosmian KMS rows: {reason}");
            None
        }
    };
    let cos = cosmian
        .as_ref()
        .map(|c| {
            Target::new(
                COSMIAN,
                &c.config_json(None),
                dir.path(),
                Some(COSMIAN_GROUP),
            )
        })
        .transpose()?;
    let mut cosmian_notes = Vec::new();

    // Section 1.
    let mut rows = Vec::new();
    let mut fill_secs = Vec::new();
    let mut on_peer = 0;
    let mut on_pykmip = 0;
    let mut on_cosmian = 0;
    for &n in sizes {
        peer.populate(on_peer..n, KEY_PREFIX, None);
        on_peer = n;
        for latency in [0u64, 1, 5] {
            proxy.set_latency(Duration::from_millis(latency));
            let target = if latency == 0 { &fast } else { &proxied };
            fill_row(&runtime, target, latency, n, &mut rows)?;
        }
        if n <= pykmip_max {
            let t = Instant::now();
            fill_pykmip(&pykmip, dir.path(), on_pykmip, n)?;
            fill_secs.push((n - on_pykmip, t.elapsed()));
            on_pykmip = n;
            fill_row(&runtime, &py, 0, n, &mut rows)?;
        }
        if let (Some(server), Some(target)) = (&cosmian, &cos) {
            let t = Instant::now();
            fill_cosmian(server, dir.path(), on_cosmian, n)?;
            cosmian_notes.push(format!(
                "Filling Cosmian KMS: {} keys of mixed AES sizes (16, 24, 32 bytes) by batched Register + Activate took {:.1} s.",
                n - on_cosmian,
                t.elapsed().as_secs_f64()
            ));
            on_cosmian = n;
            if n <= COSMIAN_MAX {
                fill_row(&runtime, target, 0, n, &mut rows)?;
            } else {
                // More than the server can list: the load must be refused, not succeed
                // with fewer keys. Shown, not timed.
                let refused = match fill_once(target, Path3::Wasm, &runtime) {
                    Ok(f) => bail!(
                        "{COSMIAN}: a load of N = {n} found {} keys instead of being refused",
                        f.keys
                    ),
                    Err(e) => e.to_string(),
                };
                cosmian_notes.push(format!("{COSMIAN}, N = {n} (more than 1 000 of one AES size): the load is refused, as it must be: {refused}"));
            }
        }
    }
    proxy.set_latency(Duration::ZERO);
    let fill_ok = print_fill(&rows);
    for (count, took) in &fill_secs {
        println!("Filling PyKMIP: {count} keys by batched Register + Activate (100 per message) took {:.1} s.", took.as_secs_f64());
    }
    for note in &cosmian_notes {
        println!("{note}");
    }
    if pykmip_max < 10_000 {
        println!("PyKMIP runs up to N = {pykmip_max} (N = 10 000 on PyKMIP takes minutes per strategy: run with --exhaustive); the latency rows use the fast peer behind the latency proxy, so the figures show the client and the network, not PyKMIP's speed.");
    }
    println!();

    // Sections 2, 4, 5 want the largest key set on the fast peer.
    let largest = 10_000;
    peer.populate(on_peer..largest, KEY_PREFIX, None);
    let fetch_ok = fetch_section(options, &so, dir.path(), &peer, largest)?;

    // Section 3.
    eprintln!("bench: sandbox overhead");
    let fast_iterations = if options.quick { 100 } else { 400 };
    let py_iterations = if options.quick { 10 } else { 30 };
    let (fast_wasm, fast_native) = ops(&fast, &runtime, fast_iterations)?;
    let (py_wasm, py_native) = ops(&py, &runtime, py_iterations)?;
    let cos_ops = cos
        .as_ref()
        .map(|target| ops(target, &runtime, py_iterations))
        .transpose()?;
    eprintln!("bench: PyKMIP's own client");
    let python = python_reference(&pykmip, py_iterations, true)?;
    println!("## 3. Sandbox overhead: store, generate, remove\n");
    println!("Goal: the sandboxed guest within 5% of the same core compiled natively, at the fast peer. Both over the host's TLS broker on loopback, one connection each, alternating which runs first; medians of {fast_iterations} rounds at the fast peer and {py_iterations} at PyKMIP and Cosmian KMS after 5 warm-up rounds (remove: two per round). store = Register + Activate; generate = host randomness + Register + Activate; remove = Revoke + Destroy. CPU = the calling thread's CPU time per operation (TLS, KMIP encoding and decoding, and for the sandboxed path the guest), from the scheduler's accounting; the goal is judged on it, because wall time at the fast peer is mostly waiting for the peer's thread and swings by 2x between runs on two shared cores.\n");
    println!("| server | operation | sandboxed wall | native wall | sandboxed CPU | native CPU | CPU overhead | goal <= 5% |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    let mut ops_ok = true;
    let mut servers = vec![
        ("fast peer", &fast_wasm, &fast_native),
        ("PyKMIP", &py_wasm, &py_native),
    ];
    if let Some((wasm, native)) = &cos_ops {
        servers.push((COSMIAN, wasm, native));
    }
    for (server, wasm, native) in servers {
        for (op, w, n, wc, nc) in [
            (
                "store",
                &wasm.store,
                &native.store,
                &wasm.store_cpu,
                &native.store_cpu,
            ),
            (
                "generate",
                &wasm.generate,
                &native.generate,
                &wasm.generate_cpu,
                &native.generate_cpu,
            ),
            (
                "remove",
                &wasm.remove,
                &native.remove,
                &wasm.remove_cpu,
                &native.remove_cpu,
            ),
        ] {
            let (w, n, wc, nc) = (median(w), median(n), median(wc), median(nc));
            let overhead = (wc.as_secs_f64() / nc.as_secs_f64().max(1e-9) - 1.0) * 100.0;
            let goal = if server == "fast peer" {
                let ok = overhead <= 5.0;
                ops_ok &= ok;
                pass(ok)
            } else {
                "-"
            };
            println!(
                "| {server} | {op} | {:.1} us | {:.1} us | {:.1} us | {:.1} us | {overhead:+.1}% | {goal} |",
                us(w),
                us(n),
                us(wc),
                us(nc)
            );
        }
    }
    println!();

    // Section 4.
    eprintln!("bench: load cost");
    let mut empty = peer.config_json();
    empty["object_group"] = EMPTY_GROUP.into();
    let wasm_path = workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest.wasm");
    let mut compiled = empty.clone();
    compiled["guest_module"] = wasm_path.display().to_string().into();
    compiled["guest_sha256"] = kmip_keyring_tests::sha256_hex(&std::fs::read(&wasm_path)?).into();
    let network = {
        let target = Target::new(
            "fast peer, empty group",
            &peer.config_json(),
            dir.path(),
            Some(EMPTY_GROUP),
        )?;
        let runs: Result<Vec<Duration>> = (0..10)
            .map(|_| {
                fill_once(&target, Path3::Native(LoadStrategy::Batched), &runtime).map(|f| f.wall)
            })
            .collect();
        median(&runs?)
    };
    println!("## 4. Load cost: embedded precompiled guest vs compiling the .wasm at load\n");
    println!("Goal: <= 20 ms for a load, network excluded. Each figure is the first keyring_load in a fresh process (this binary as a child: dlopen, init, then load, as mysqld does) against the fast peer with an Object Group holding no key, median of 3 processes. The network part (TCP + TLS handshake, Discover Versions, two Locates) is the median of 10 such empty loads by the native core: {:.2} ms. Reload = a later load in the same process, the compiled guest cached.\n", ms(network));
    println!("| guest | first load | network part | load cost without network | reload (guest cached) | goal <= 20 ms |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut cost_ok = true;
    for (label, config, goal) in [
        ("embedded, precompiled (default)", &empty, true),
        ("guest_module .wasm, compiled at load", &compiled, false),
    ] {
        let plugin = plugin_dir(dir.path(), &format!("cost-{}", goal), config)?;
        let mut firsts = Vec::new();
        let mut reloads = Vec::new();
        for _ in 0..3 {
            let figures = child(&[
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
        let first = median(&firsts);
        let without = first.saturating_sub(network);
        let verdict = if goal {
            let ok = without <= Duration::from_millis(20);
            cost_ok &= ok;
            pass(ok)
        } else {
            "-"
        };
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {verdict} |",
            ms(first),
            ms(network),
            ms(without),
            ms(median(&reloads))
        );
    }
    let wasm_bytes = std::fs::read(&wasm_path)?;
    let compile_started = Instant::now();
    drop(Runtime::from_wasm(&wasm_bytes)?);
    println!(
        "\nCranelift compile of the guest alone, in this process: {:.0} ms ({} KiB .wasm).\n",
        ms(compile_started.elapsed()),
        wasm_bytes.len() / 1024
    );

    // Section 5.
    eprintln!("bench: memory");
    println!("## 5. Memory: RSS added by load\n");
    println!("Goal: <= 40 MiB with 10 000 keys. A fresh child process dlopens the component and calls init, then keyring_load with the embedded guest against the fast peer; RSS = VmRSS after load minus before, peak = VmHWM after load. Median of 3 processes.\n");
    println!("| keys loaded | RSS before load | RSS after load | added by load | peak RSS | goal <= 40 MiB |");
    println!("|---:|---:|---:|---:|---:|---|");
    let mut rss_ok = true;
    for (config, goal) in [(&empty, false), (&peer.config_json(), true)] {
        let plugin = plugin_dir(dir.path(), &format!("rss-{goal}"), config)?;
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(child(&[
                "rss",
                &so.display().to_string(),
                &plugin.display().to_string(),
            ])?);
        }
        runs.sort_by_key(|r| {
            r["rss_after_kib"]
                .as_u64()
                .unwrap_or(0)
                .saturating_sub(r["rss_before_kib"].as_u64().unwrap_or(0))
        });
        let r = &runs[1];
        let (before, after) = (
            r["rss_before_kib"].as_u64().unwrap_or(0),
            r["rss_after_kib"].as_u64().unwrap_or(0),
        );
        let added = after.saturating_sub(before);
        let verdict = if goal {
            let ok = added <= 40 * 1024;
            rss_ok &= ok;
            pass(ok)
        } else {
            "-"
        };
        println!(
            "| {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {verdict} |",
            r["keys"],
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            added as f64 / 1024.0,
            r["rss_peak_kib"].as_u64().unwrap_or(0) as f64 / 1024.0,
        );
    }
    println!();

    // Section 6.
    println!("## 6. Reference: PyKMIP's own Python client against the same PyKMIP\n");
    println!("The same operations by PyKMIP's ProxyKmipClient (one connection; store = register + activate, generate = os.urandom + register + activate, remove = revoke + destroy; load = locate, then get and get_attributes per object, as Percona's strategy) next to ours against the same server in this run. Medians of {py_iterations} rounds after 5 warm-up rounds.\n");
    println!("| operation | PyKMIP's client | ours, sandboxed | ours, native |");
    println!("|---|---:|---:|---:|");
    for (op, p, w, n) in [
        ("store", &python.store, &py_wasm.store, &py_native.store),
        (
            "generate",
            &python.generate,
            &py_wasm.generate,
            &py_native.generate,
        ),
        ("remove", &python.remove, &py_wasm.remove, &py_native.remove),
    ] {
        println!(
            "| {op} | {:.2} ms | {:.2} ms | {:.2} ms |",
            ms(median(p)),
            ms(median(w)),
            ms(median(n))
        );
    }
    if let Some((n, took)) = python.load {
        if let Some(row) = rows.iter().find(|r| r.server == "PyKMIP" && r.n == n) {
            println!(
                "| load, N = {n} | {:.0} ms | {:.0} ms | {:.0} ms (Percona's strategy: {:.0} ms) |",
                ms(took),
                ms(row.wasm.wall),
                ms(row.native.wall),
                ms(row.percona.wall)
            );
        } else {
            println!("| load, N = {n} | {:.0} ms | - | - |", ms(took));
        }
    }
    println!();

    println!("## Summary\n");
    println!("| section | goals |\n|---|---|");
    for (name, ok) in [
        ("1. cache fill: round trips, >= 10x at 5 ms", fill_ok),
        ("2. fetch: median <= 1 us, <= 3x baseline", fetch_ok),
        ("3. sandbox overhead <= 5% at the fast peer", ops_ok),
        ("4. load cost <= 20 ms", cost_ok),
        ("5. RSS <= 40 MiB with 10 000 keys", rss_ok),
    ] {
        println!("| {name} | {} |", if ok { "all PASS" } else { "some MISS" });
    }
    println!(
        "\nTotal bench time: {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    drop(proxy);
    drop(pykmip);
    Ok(())
}
