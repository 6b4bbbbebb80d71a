//! The benchmark: cache fill against Percona's per-object strategy (fast peer, PyKMIP, Cosmian KMS), C-ABI fetch against a bare C keyring, sandbox overhead, load cost, memory, PyKMIP's own client as reference, and the component's size; prints Markdown tables.
//!
//! Every figure comes from this run on this machine: both load strategies are the same
//! guest core (the per-object one is a bench-only mode of it), both servers run here, and
//! the latency proxy sits on loopback. Load cost and memory are measured in child
//! processes of this binary (`--child ...`), so each starts from a clean process.
//!
//! Usage: `bench [--quick] [--exhaustive]`. `--quick` runs N = 100 and 1000 with fewer
//! samples; the full run adds N = 10 000 and, at the fast peer without the latency proxy,
//! N = 100 000; `--exhaustive` also runs PyKMIP with 10 000 keys (minutes per strategy, as
//! PyKMIP spends about 2 ms on each Get and Get Attributes). `bench --profile <what>` runs
//! one operation in a loop for a profiler (profile.rs); `bench --size` prints section 7 alone.
//!
//! Each section is a module that measures and returns its figures; `report` prints them.

mod child;
mod component;
mod fetch;
mod json;
mod load_cost;
mod machine;
mod memory;
mod operations;
mod profile;
mod python_reference;
mod report;
mod servers;
mod size;
mod startup_fill;
mod target;
mod units;

use anyhow::{bail, Result};
use kmip_keyring_tests::runtime;
use servers::{Servers, KEY_PREFIX};
use std::path::Path;
use std::time::Instant;

/// Keys on the fast peer for sections 2 to 5, after section 1's mixed fill: AES-256 only,
/// so the fetch reads 32-byte AES keys and the memory goal is judged on 10 000 keys.
const FETCH_KEYS: usize = 10_000;

/// What the command line asks for.
#[derive(Clone, Copy)]
pub struct Options {
    quick: bool,
    exhaustive: bool,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, what, so, plugin] = args.as_slice() else {
            bail!("usage: bench --child <rss|load-cost> <component.so> <plugin dir>");
        };
        return child::run(what, Path::new(so), Path::new(plugin));
    }
    if args.first().map(String::as_str) == Some("--profile") {
        return profile::run(args.get(1).map_or("", String::as_str));
    }
    if args.first().map(String::as_str) == Some("--size") {
        // Section 7 alone: seconds, no server.
        report::size(&size::run()?);
        return Ok(());
    }
    let options = Options {
        quick: args.iter().any(|a| a == "--quick"),
        exhaustive: args.iter().any(|a| a == "--exhaustive"),
    };
    if let Some(other) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--quick" | "--exhaustive"))
    {
        bail!("unknown argument {other}; usage: bench [--quick] [--exhaustive] | --size | --profile <what>");
    }
    run(options)
}

/// Every section in turn, each printed as soon as it is measured.
fn run(options: Options) -> Result<()> {
    let started = Instant::now();
    let so = component::component_so()?;
    let dir = tempfile::Builder::new().prefix("kmip-bench-").tempdir()?;
    let machine = machine::Machine::read();
    report::header(options, &machine);
    eprintln!("bench: compiling the guest, starting PyKMIP and the fast peer");
    let runtime = runtime();
    let servers = Servers::start(dir.path())?;

    let fill = startup_fill::run(options, &runtime, &servers, dir.path())?;
    let fill_ok = report::startup_fill(&fill);
    let load_ok = report::sandboxed_load(&fill);

    // Sections 2 to 5 want the fast peer holding FETCH_KEYS AES-256 keys, nothing else.
    servers.peer.clear();
    servers.peer.populate(0..FETCH_KEYS, KEY_PREFIX, None);
    let fetched = fetch::run(options, &so, dir.path(), &servers.peer, FETCH_KEYS)?;
    let fetch_ok = report::fetch(&fetched);

    eprintln!("bench: sandbox overhead");
    let ops = operations::run(options, &runtime, &servers)?;
    eprintln!("bench: PyKMIP's own client");
    let python = python_reference::run(&servers.pykmip, ops.py_iterations, true)?;
    let ops_ok = report::operations(&ops);

    eprintln!("bench: load cost");
    let cost = load_cost::run(&runtime, &so, dir.path(), &servers.peer)?;
    let cost_ok = report::load_cost(&cost);

    eprintln!("bench: memory");
    let memory = memory::run(&so, dir.path(), &servers.peer)?;
    let rss_ok = report::memory(&memory);

    report::python_reference(&python, &ops, &fill);
    let size = size::run()?;
    let size_ok = report::size(&size);
    report::summary(
        &report::Goals {
            fill: fill_ok,
            load: load_ok,
            fetch: fetch_ok,
            ops: ops_ok,
            cost: cost_ok,
            rss: rss_ok,
            size: size_ok,
        },
        started.elapsed(),
    );
    let mut sections = serde_json::Map::new();
    for (name, value) in [
        ("machine", json::machine(&machine)),
        ("startup_fill", json::startup_fill(&fill)),
        ("fetch", json::fetch(&fetched)),
        ("operations", json::operations(&ops)),
        ("python_reference", json::python_reference(&python)),
        ("load_cost", json::load_cost(&cost)),
        ("memory", json::memory(&memory)),
        ("size", json::size(&size)),
    ] {
        sections.insert(name.into(), value);
    }
    sections.insert("quick".into(), options.quick.into());
    println!(
        "Every figure of this run: {}",
        json::write(sections)?.display()
    );
    drop(servers);
    Ok(())
}
