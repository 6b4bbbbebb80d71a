//! Everything one run measured, as one JSON file (target/bench/bench-<unix time>.json and
//! target/bench/latest.json), so runs compare without parsing Markdown. Durations are in
//! nanoseconds; operation samples are summarized by their median.

use crate::fetch::{FetchRow, Fetched, Latencies};
use crate::load_cost::LoadCost;
use crate::machine::Machine;
use crate::memory::Memory;
use crate::operations::{Compared, OpTimes, Operations};
use crate::python_reference::PythonTimes;
use crate::size::Size;
use crate::startup_fill::{FillRow, StartupFill};
use crate::target::Fill;
use crate::units::median;
use anyhow::{Context, Result};
use kmip_keyring_tests::workspace_root;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

fn median_ns(samples: &[Duration]) -> Option<u64> {
    (!samples.is_empty()).then(|| ns(median(samples)))
}

pub fn machine(m: &Machine) -> Value {
    json!({"cpus": m.cpus, "model": m.model, "kernel": m.kernel,
           "memory_gib": m.memory_gib, "load_average": m.load_average})
}

fn fill(f: &Fill) -> Value {
    json!({"wall_ns": ns(f.wall), "keys": f.keys,
           "connections": f.traffic.connections, "messages": f.traffic.messages,
           "bytes_sent": f.traffic.bytes_sent, "bytes_received": f.traffic.bytes_received})
}

fn fill_row(r: &FillRow) -> Value {
    json!({"server": r.server, "latency_ms": r.latency_ms, "n": r.n,
           "aes": r.mix.aes, "secret": r.mix.secret,
           "sandboxed": fill(&r.wasm), "native": fill(&r.native), "percona_strategy": fill(&r.percona)})
}

pub fn startup_fill(s: &StartupFill) -> Value {
    json!({"rows": s.rows.iter().map(fill_row).collect::<Vec<_>>(),
           "pykmip_fills": s.pykmip_fills.iter().map(|(n, d)| json!({"keys": n, "ns": ns(*d)})).collect::<Vec<_>>(),
           "cosmian_notes": s.cosmian_notes})
}

fn latencies(l: &Latencies) -> Value {
    json!({"median_ns": l.median_ns, "p99_ns": l.p99_ns})
}

fn fetch_rows(rows: &[FetchRow]) -> Vec<Value> {
    rows.iter()
        .map(|r| json!({"threads": r.threads, "component": latencies(&r.ours), "baseline": latencies(&r.baseline)}))
        .collect()
}

pub fn fetch(f: &Fetched) -> Value {
    json!({"keys": f.n, "samples_per_thread": f.samples, "timer_ns": f.timer_ns,
           "c_caller_vs_c_baseline": fetch_rows(&f.c_rows),
           "rust_caller_vs_rust_map": fetch_rows(&f.rows)})
}

fn op_times(t: &OpTimes) -> Value {
    json!({"store_wall_ns": median_ns(&t.store), "generate_wall_ns": median_ns(&t.generate),
           "remove_wall_ns": median_ns(&t.remove), "store_cpu_ns": median_ns(&t.store_cpu),
           "generate_cpu_ns": median_ns(&t.generate_cpu), "remove_cpu_ns": median_ns(&t.remove_cpu)})
}

fn compared(c: &Compared) -> Value {
    json!({"sandboxed": op_times(&c.wasm), "native": op_times(&c.native)})
}

pub fn operations(o: &Operations) -> Value {
    json!({"fast_peer_rounds": o.fast_iterations, "server_rounds": o.py_iterations,
           "fast_peer": compared(&o.fast), "pykmip": compared(&o.py),
           "cosmian": o.cosmian.as_ref().map(compared)})
}

pub fn load_cost(c: &LoadCost) -> Value {
    json!({"network_ns": ns(c.network), "compile_ns": ns(c.compile), "wasm_bytes": c.wasm_bytes,
           "rows": c.rows.iter().map(|r| json!({"label": r.label, "first_ns": ns(r.first),
                                                "reload_ns": ns(r.reload), "goal": r.goal})).collect::<Vec<_>>()})
}

pub fn memory(m: &Memory) -> Value {
    json!({"rows": m.rows.iter().map(|r| json!({"keys": r.keys, "before_kib": r.before_kib,
        "after_kib": r.after_kib, "peak_kib": r.peak_kib, "goal": r.goal})).collect::<Vec<_>>()})
}

pub fn python_reference(p: &PythonTimes) -> Value {
    json!({"store_ns": median_ns(&p.store), "generate_ns": median_ns(&p.generate),
           "remove_ns": median_ns(&p.remove),
           "load": p.load.map(|(n, d)| json!({"keys": n, "ns": ns(d)}))})
}

pub fn size(z: &Size) -> Value {
    json!({"installed_bytes": z.installed, "text_bytes": z.text, "rodata_bytes": z.rodata,
           "embedded_wasm_bytes": z.wasm, "embedded_cwasm_bytes": z.cwasm,
           "code_bytes_by_part": z.code_by_part.iter().map(|(part, bytes)| json!({"part": part, "bytes": bytes})).collect::<Vec<_>>()})
}

/// Writes `sections` (with the run's time) to target/bench/; returns the file written.
pub fn write(mut sections: serde_json::Map<String, Value>) -> Result<PathBuf> {
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sections.insert("unix_time".into(), unix.into());
    let dir = workspace_root().join("target/bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = serde_json::to_string_pretty(&Value::Object(sections))?;
    let path = dir.join(format!("bench-{unix}.json"));
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(dir.join("latest.json"), &text)?;
    Ok(path)
}
