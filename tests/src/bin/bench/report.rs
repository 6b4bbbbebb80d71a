//! The Markdown the bench prints: one function per section, each judging that section's goals.

use crate::fetch::Fetched;
use crate::load_cost::LoadCost;
use crate::machine::Machine;
use crate::memory::Memory;
use crate::operations::Operations;
use crate::python_reference::PythonTimes;
use crate::servers::COSMIAN;
use crate::size::Size;
use crate::startup_fill::{message_bound, StartupFill, PROXIED_MAX};
use crate::units::{kib, median, ms, pass, ratio, us};
use crate::Options;
use component_keyring_kmip::config::DEFAULT_LOCATE_PAGE_SIZE;
use std::time::Duration;

/// Whether each section met all its goals.
pub struct Goals {
    pub fill: bool,
    /// The sandboxed load's goal; `None` when the run had no row to judge it on (--quick).
    pub load: Option<bool>,
    pub fetch: bool,
    pub ops: bool,
    pub cost: bool,
    pub rss: bool,
    pub size: bool,
}

pub fn header(options: Options, machine: &Machine) {
    println!(
        "# component_keyring_kmip benchmark{}\n",
        if options.quick { " (--quick)" } else { "" }
    );
    println!("| machine | |\n|---|---|");
    println!("| CPUs (nproc) | {} |", machine.cpus);
    println!("| CPU model | {} |", machine.model);
    println!("| kernel | {} |", machine.kernel);
    println!("| memory | {:.1} GiB |", machine.memory_gib);
    println!("| load average at start | {} |", machine.load_average);
    println!();
}

/// Section 1; true when every goal is met.
pub fn startup_fill(fill: &StartupFill) -> bool {
    println!("## 1. Startup cache fill (load with N keys on the server)\n");
    println!("Goals: our strategy needs at most the README's bound of request messages (round trips), 1 + (ceil((N_max-1)/(P-1)) + 1) + ceil(N/100) for N keys of any mix of AES and SECRET, N_max of them of the more numerous type, and Locate pages of P = {DEFAULT_LOCATE_PAGE_SIZE} answered in full (Discover Versions; Locate rounds, each one message with the next page of both types, pages overlapping by one until one brings nothing new; one fetch message per 100 keys of either type); at 5 ms each way it is at least 10x faster than Percona's.");
    println!("\"ours\" is the batched strategy (Get + Get Attributes for 100 objects per message), through the wasm sandbox as the component runs it and as the same core compiled natively; \"Percona's\" is the bench-only per-object mode of the same core (Locate pages, then one Get message and one Get Attributes message per key), natively. Each figure is a whole fill from a fresh TLS connection, median of 5 when under 1 s. msgs = KMIP request messages (= round trips), conns = TLS handshakes; bytes are KMIP bytes sent / received (ours through the sandbox). The fast peer holds a mix: N/2 AES-256 keys and N/2 SECRET keys of 32 bytes, alternating; PyKMIP and Cosmian KMS hold AES keys only.\n");
    println!("| server | latency each way | N | ours, sandboxed | ours, native | Percona's | ours msgs (conns) | Percona's msgs | ours bytes sent / recv | Percona's bytes sent / recv | speedup (Percona's / ours sandboxed) | msgs <= bound | >= 10x at 5 ms |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut all = true;
    for r in &fill.rows {
        let goal_rt = r.wasm.traffic.messages <= message_bound(r.mix);
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
    for (count, took) in &fill.pykmip_fills {
        println!("Filling PyKMIP: {count} keys by batched Register + Activate (100 per message) took {:.1} s.", took.as_secs_f64());
    }
    for note in &fill.cosmian_notes {
        println!("{note}");
    }
    if fill.pykmip_max < 10_000 {
        println!("PyKMIP runs up to N = {} (N = 10 000 on PyKMIP takes minutes per strategy: run with --exhaustive); the latency rows use the fast peer behind the latency proxy, so the figures show the client and the network, not PyKMIP's speed.", fill.pykmip_max);
    }
    if fill.largest > PROXIED_MAX {
        println!("N = {} runs at the fast peer only, without the latency proxy: there Percona's strategy sends over {} messages (by the N = 10 000 rows, about 8 minutes at 1 ms each way and 35 at 5 ms); PyKMIP stops at N = {} and Cosmian KMS already refuses the load at N = 10 000.", fill.largest, 2 * fill.largest, fill.pykmip_max);
    }
    println!();
    all
}

/// The most a load of [`SANDBOXED_LOAD_N`] keys at the fast peer may take through the sandbox,
/// as a multiple of the same load by the core compiled natively (issue 13).
const SANDBOXED_LOAD_MAX_RATIO: f64 = 1.5;
/// The load the sandbox's cost is judged on.
const SANDBOXED_LOAD_N: usize = 10_000;

/// The sandbox's cost on a whole load, from section 1's own rows; whether it is met, `None`
/// when this run has no such row (as with --quick), which it says.
pub fn sandboxed_load(fill: &StartupFill) -> Option<bool> {
    let row = fill
        .rows
        .iter()
        .find(|r| r.server == "fast peer" && r.latency_ms == 0 && r.n == SANDBOXED_LOAD_N);
    let Some(r) = row else {
        println!("Sandboxed load: no fast-peer row with N = {SANDBOXED_LOAD_N} in this run (goal not judged).\n");
        return None;
    };
    let ratio = ratio(r.wasm.wall, r.native.wall);
    let ok = ratio <= SANDBOXED_LOAD_MAX_RATIO;
    println!(
        "Sandboxed load: N = {SANDBOXED_LOAD_N} at the fast peer took {:.1} ms through the sandbox and {:.1} ms natively: {ratio:.2}x (goal <= {SANDBOXED_LOAD_MAX_RATIO}x): {}.\n",
        ms(r.wasm.wall),
        ms(r.native.wall),
        pass(ok)
    );
    Some(ok)
}

/// Section 2; true when every goal is met.
pub fn fetch(f: &Fetched) -> bool {
    println!("## 2. Fetch through the C ABI on a cache hit\n");
    println!("Goals: median <= 1 us, and median and p99 <= 3x the bare C baseline. One fetch = reader init -> fetch_length -> fetch -> deinit, as MySQL's read_secret does, through the built .so loaded by the tests' mysqld-style loader; {} AES-256 keys loaded, keys picked round-robin; {} timed calls per thread after warm-up, each call timed alone.\n", f.n, f.samples);
    println!("The goal's rows: a C caller (tests/c/reader_bench.c; C strings in, stack buffers of the reported lengths out, two clock_gettime calls around each read) times the component's bound reader service and a bare C keyring behind the same four methods: a pthread read-write lock held from init to deinit, an open-addressing FNV-1a hash table, memcpy.\n");
    println!("| threads | component median | component p99 | C baseline median | C baseline p99 | median / baseline | p99 / baseline | median <= 1 us | <= 3x baseline |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---|---|");
    let mut all = true;
    for row in &f.c_rows {
        let (ours, base) = (&row.ours, &row.baseline);
        let median = ours.median_ns as f64 / base.median_ns.max(1) as f64;
        let p99 = ours.p99_ns as f64 / base.p99_ns.max(1) as f64;
        let (a, b) = (ours.median_ns <= 1000, median <= 3.0 && p99 <= 3.0);
        all &= a && b;
        println!(
            "| {} | {} ns | {} ns | {} ns | {} ns | {median:.2}x | {p99:.2}x | {} | {} |",
            row.threads,
            ours.median_ns,
            ours.p99_ns,
            base.median_ns,
            base.p99_ns,
            pass(a),
            pass(b)
        );
    }
    println!();
    println!("For reference, the Rust loader's read_secret (a CString per call, Vec buffers; the timer's own ~{} ns included) against the same steps over a Rust HashMap behind an RwLock that copies the bytes:\n", f.timer_ns);
    println!("| threads | component median | component p99 | Rust map median | Rust map p99 |");
    println!("|---:|---:|---:|---:|---:|");
    for row in &f.rows {
        println!(
            "| {} | {} ns | {} ns | {} ns | {} ns |",
            row.threads,
            row.ours.median_ns,
            row.ours.p99_ns,
            row.baseline.median_ns,
            row.baseline.p99_ns
        );
    }
    println!();
    all
}

/// The most CPU a store, generate or remove at the fast peer may take through the sandbox,
/// as a multiple of the same operation by the core compiled natively (issue 13).
const OPS_MAX_RATIO: f64 = 1.3;

/// Section 3; true when every goal is met.
pub fn operations(o: &Operations) -> bool {
    println!("## 3. Sandbox overhead: store, generate, remove\n");
    println!("Goal: the sandboxed guest's CPU per operation at most {OPS_MAX_RATIO}x that of the same core compiled natively, at the fast peer. Both over the host's TLS broker on loopback, one connection each, alternating which runs first; medians of {} rounds at the fast peer and {} at PyKMIP and Cosmian KMS after 5 warm-up rounds (remove: two per round). store = Register + Activate; generate = host randomness + Register + Activate; remove = Revoke + Destroy. CPU = the calling thread's CPU time per operation (TLS, KMIP encoding and decoding, and for the sandboxed path the guest), from the scheduler's accounting; the goal is judged on it, because wall time at the fast peer is mostly waiting for the peer's thread and swings by 2x between runs on two shared cores.\n", o.fast_iterations, o.py_iterations);
    println!("| server | operation | sandboxed wall | native wall | sandboxed CPU | native CPU | CPU overhead | goal <= {OPS_MAX_RATIO}x |");
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    let mut all = true;
    let mut servers = vec![("fast peer", &o.fast), ("PyKMIP", &o.py)];
    if let Some(cosmian) = &o.cosmian {
        servers.push((COSMIAN, cosmian));
    }
    for (server, times) in servers {
        let (wasm, native) = (&times.wasm, &times.native);
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
            let ratio = ratio(wc, nc);
            let overhead = (ratio - 1.0) * 100.0;
            let goal = if server == "fast peer" {
                let ok = ratio <= OPS_MAX_RATIO;
                all &= ok;
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
    all
}

/// Section 4; true when the goal is met.
pub fn load_cost(c: &LoadCost) -> bool {
    println!("## 4. Load cost: embedded precompiled guest vs compiling the .wasm at load\n");
    println!("Goal: <= 20 ms for a load, network excluded. Each figure is the first keyring_load in a fresh process (this binary as a child: dlopen, init, then load, as mysqld does) against the fast peer with an Object Group holding no key, median of 3 processes. The network part (TCP + TLS handshake, Discover Versions, two Locates) is the median of 10 such empty loads by the native core: {:.2} ms. Reload = a later load in the same process, the compiled guest cached.\n", ms(c.network));
    println!("| guest | first load | network part | load cost without network | reload (guest cached) | goal <= 20 ms |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut all = true;
    for row in &c.rows {
        let without = row.first.saturating_sub(c.network);
        let verdict = if row.goal {
            let ok = without <= Duration::from_millis(20);
            all &= ok;
            pass(ok)
        } else {
            "-"
        };
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {verdict} |",
            row.label,
            ms(row.first),
            ms(c.network),
            ms(without),
            ms(row.reload)
        );
    }
    println!(
        "\nCranelift compile of the guest alone, in this process: {:.0} ms ({} KiB .wasm).\n",
        ms(c.compile),
        c.wasm_bytes / 1024
    );
    all
}

/// Section 5; true when the goal is met.
pub fn memory(m: &Memory) -> bool {
    println!("## 5. Memory: RSS added by load\n");
    println!("Goal: <= 40 MiB with 10 000 keys. A fresh child process dlopens the component and calls init, then keyring_load with the embedded guest against the fast peer; RSS = VmRSS after load minus before, peak = VmHWM after load. Median of 3 processes.\n");
    println!("| keys loaded | RSS before load | RSS after load | added by load | peak RSS | goal <= 40 MiB |");
    println!("|---:|---:|---:|---:|---:|---|");
    let mut all = true;
    for r in &m.rows {
        let added = r.after_kib.saturating_sub(r.before_kib);
        let verdict = if r.goal {
            let ok = added <= 40 * 1024;
            all &= ok;
            pass(ok)
        } else {
            "-"
        };
        println!(
            "| {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {verdict} |",
            r.keys,
            r.before_kib as f64 / 1024.0,
            r.after_kib as f64 / 1024.0,
            added as f64 / 1024.0,
            r.peak_kib as f64 / 1024.0,
        );
    }
    println!();
    all
}

/// Section 6: PyKMIP's client next to ours at PyKMIP (section 3's operations, section 1's
/// load of the same N).
pub fn python_reference(python: &PythonTimes, ops: &Operations, fill: &StartupFill) {
    let (py_wasm, py_native) = (&ops.py.wasm, &ops.py.native);
    println!("## 6. Reference: PyKMIP's own Python client against the same PyKMIP\n");
    println!("The same operations by PyKMIP's ProxyKmipClient (one connection; store = register + activate, generate = os.urandom + register + activate, remove = revoke + destroy; load = locate, then get and get_attributes per object, as Percona's strategy) next to ours against the same server in this run. Medians of {} rounds after 5 warm-up rounds.\n", ops.py_iterations);
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
        if let Some(row) = fill.rows.iter().find(|r| r.server == "PyKMIP" && r.n == n) {
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
}

/// Section 7; true when the goal is met.
pub fn size(z: &Size) -> bool {
    let mb = |b: u64| b as f64 / 1e6;
    println!("## 7. Size of the installable component\n");
    println!("Goal: component_keyring_kmip.so <= 16 MB (as scripts/build-component.sh writes it: stripped of debug info and the static symbol table; mysqld binds it through its dynamic symbols).\n");
    println!("| file | .text | .rodata | of which: embedded guest .wasm | embedded precompiled .cwasm | goal <= 16 MB |");
    println!("|---:|---:|---:|---:|---:|---|");
    let ok = z.installed <= 16_000_000;
    println!(
        "| {:.1} MB | {:.1} MB | {:.1} MB | {:.1} MB | {:.1} MB | {} |\n",
        mb(z.installed),
        mb(z.text),
        mb(z.rodata),
        mb(z.wasm),
        mb(z.cwasm),
        pass(ok)
    );
    println!("Machine code by part (function symbols of the same build before stripping; generic code is counted where it was instantiated):\n");
    println!("| part | machine code |\n|---|---:|");
    for (part, bytes) in &z.code_by_part {
        println!("| {part} | {:.2} MB |", mb(*bytes));
    }
    println!();
    ok
}

pub fn summary(goals: &Goals, took: Duration) {
    println!("## Summary\n");
    println!("| section | goals |\n|---|---|");
    for (name, ok) in [
        (
            "1. cache fill: round trips, >= 10x at 5 ms".to_owned(),
            Some(goals.fill),
        ),
        (
            format!("1. sandboxed load of {SANDBOXED_LOAD_N} keys <= {SANDBOXED_LOAD_MAX_RATIO}x native"),
            goals.load,
        ),
        (
            "2. fetch: median <= 1 us, median and p99 <= 3x the C baseline".to_owned(),
            Some(goals.fetch),
        ),
        (
            format!("3. sandbox CPU <= {OPS_MAX_RATIO}x native at the fast peer"),
            Some(goals.ops),
        ),
        ("4. load cost <= 20 ms".to_owned(), Some(goals.cost)),
        ("5. RSS <= 40 MiB with 10 000 keys".to_owned(), Some(goals.rss)),
        ("7. installable .so <= 16 MB".to_owned(), Some(goals.size)),
    ] {
        let verdict = match ok {
            Some(true) => "all PASS",
            Some(false) => "some MISS",
            None => "not judged in this run",
        };
        println!("| {name} | {verdict} |");
    }
    println!("\nTotal bench time: {:.0} s.", took.as_secs_f64());
}
