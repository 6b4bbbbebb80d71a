//! Section 3: store, generate and remove through the sandbox and natively, wall and CPU time per operation.

use crate::servers::Servers;
use crate::target::Target;
use crate::Options;
use anyhow::Result;
use component_keyring_kmip::sandbox::Sandbox;
use component_keyring_kmip::Runtime;
use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::KeyringLogic;
use kmip_keyring_tests::native_platform::{Counters, NativePlatform};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wall time and the calling thread's CPU time of each operation.
pub struct OpTimes {
    pub store: Vec<Duration>,
    pub generate: Vec<Duration>,
    pub remove: Vec<Duration>,
    pub store_cpu: Vec<Duration>,
    pub generate_cpu: Vec<Duration>,
    pub remove_cpu: Vec<Duration>,
}

impl OpTimes {
    pub fn new() -> Self {
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

/// One server's operations by both paths.
pub struct Compared {
    pub wasm: OpTimes,
    pub native: OpTimes,
}

/// What section 3 measured.
pub struct Operations {
    /// Rounds at the fast peer.
    pub fast_iterations: usize,
    /// Rounds at PyKMIP and Cosmian KMS.
    pub py_iterations: usize,
    pub fast: Compared,
    pub py: Compared,
    pub cosmian: Option<Compared>,
}

/// Times the operations at the fast peer, PyKMIP and Cosmian KMS if it runs.
pub fn run(options: Options, runtime: &Arc<Runtime>, servers: &Servers) -> Result<Operations> {
    let fast_iterations = if options.quick { 100 } else { 400 };
    let py_iterations = if options.quick { 10 } else { 30 };
    Ok(Operations {
        fast_iterations,
        py_iterations,
        fast: ops(&servers.fast, runtime, fast_iterations)?,
        py: ops(&servers.py, runtime, py_iterations)?,
        cosmian: servers
            .cos
            .as_ref()
            .map(|target| ops(target, runtime, py_iterations))
            .transpose()?,
    })
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
pub trait KeyOps {
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
pub fn ops_round(
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
fn ops(target: &Target, runtime: &Arc<Runtime>, iterations: usize) -> Result<Compared> {
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
    Ok(Compared { wasm, native })
}
