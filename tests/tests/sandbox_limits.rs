//! Every resource a guest can exhaust, one hostile mode each (tests/hostile-guest, and a
//! hand-written guest for tables): the stack, memory kept across calls, tables, open
//! connections, host calls, bytes handed to the host, log lines, entropy, KMIP messages,
//! and the size of what it returns. Each ends the call with a clean error that names the
//! limit; the keyring's cache is intact and the next call works. README "Sandbox limits"
//! lists each limit with the test here that proves it.

use anyhow::Result;
use component_keyring_kmip::sandbox::budget;
use component_keyring_kmip::sandbox::SandboxError;
use component_keyring_kmip::{Config, Keyring, KeyringError, Limits, LogSink, MemoryLog, Runtime};
use kmip_keyring_tests::fast_peer::FastPeer;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::{raw_guest, runtime, workspace_root};
use std::sync::{Arc, OnceLock};

fn hostile() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let path = workspace_root()
                .join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm");
            let wasm = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-guest.sh", path.display()));
            Runtime::from_wasm(&wasm).expect("hostile guest compiles")
        })
        .clone()
}

/// The production limits except a smaller fuel budget, so that a runaway ends quickly.
fn limits() -> Limits {
    Limits {
        fuel_per_call: 4_000_000_000,
        ..Limits::default()
    }
}

fn config(mut config: Config, mode: &str) -> Config {
    let group = config.object_group.take().unwrap_or_default();
    config.object_group = Some(format!("hostile={mode};{group}"));
    config.limits = limits();
    config
}

fn load(config: Config, runtime: Arc<Runtime>) -> (Result<Keyring, KeyringError>, Arc<MemoryLog>) {
    let log = MemoryLog::shared();
    let result = Keyring::load(config, runtime, log.clone() as Arc<dyn LogSink>);
    (result, log)
}

fn trapped<T: std::fmt::Debug>(result: Result<T, KeyringError>) -> String {
    match result {
        Err(KeyringError::Sandbox(SandboxError::Trapped(m))) => m,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// Runs `f` on a thread with exactly `stack` bytes of stack, as a mysqld connection
/// thread has.
fn on_thread<T: Send>(stack: usize, f: impl FnOnce() -> T + Send) -> T {
    kmip_keyring_tests::loader::stack::stack_used(stack, f).0
}

#[test]
fn a_guest_that_recurses_without_bound_traps_on_its_own_stack() -> Result<()> {
    let server = PyKmip::start()?;
    // mysqld's default thread_stack, a small one, and its smallest allowed value.
    for stack in [1 << 20, 256 << 10, 128 << 10] {
        let config_load = config(server.config(Some("rec"))?, "recurse");
        let message = on_thread(stack, move || {
            trapped(load(config_load, hostile()).0.map(|_| ()))
        });
        assert!(
            message.starts_with("load: ") && message.contains("call stack exhausted"),
            "{} KiB thread: {message}",
            stack >> 10
        );
        let group = format!("rec-{stack}");
        let seeded = Keyring::load(server.config(Some(&group))?, runtime(), MemoryLog::shared())?;
        seeded.store("seeded", "", "SECRET", b"stored by a good guest")?;
        drop(seeded);
        let config_write = config(server.config(Some(&group))?, "recurse-write");
        on_thread(stack, move || -> Result<()> {
            let (keyring, _) = load(config_write, hostile());
            let keyring = keyring?;
            let message = trapped(keyring.store("new", "", "SECRET", b"never stored"));
            assert!(message.contains("call stack exhausted"), "{message}");
            let message = trapped(keyring.generate("k", "", "AES", 32));
            assert!(
                message.starts_with("generate: ") && message.contains("call stack exhausted"),
                "{message}"
            );
            // The cache is intact, and a fresh instance serves the next call.
            assert_eq!(keyring.key_ids().len(), 1);
            keyring.remove("seeded", "")?;
            assert!(keyring.is_empty());
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn memory_kept_across_calls_ends_at_the_cap_and_a_fresh_instance_follows() -> Result<()> {
    let server = PyKmip::start()?;
    let (keyring, _) = load(config(server.config(Some("leak"))?, "leak"), hostile());
    let keyring = keyring?;
    let mut stored = 0;
    let message = loop {
        match keyring.store(&format!("k{stored}"), "", "AES", &[7u8; 32]) {
            Ok(()) => stored += 1,
            Err(e) => break trapped::<()>(Err(e)),
        }
        assert!(stored < 20, "6 MiB per call must reach a 64 MiB cap");
    };
    assert!(
        message.contains("the guest hit its memory limit of 64 MiB"),
        "{message}"
    );
    assert!(stored >= 5, "calls before the cap: {stored}");
    // Every key stored before the trap is still cached, and the next call works.
    assert_eq!(keyring.len(), stored);
    keyring.store("after", "", "AES", &[8u8; 32])?;
    assert_eq!(keyring.len(), stored + 1);
    Ok(())
}

#[test]
fn table_growth_is_refused_at_the_table_limit() -> Result<()> {
    let server = PyKmip::start()?;
    let wasm = raw_guest::component("table-grow")?;
    let runtime = Runtime::from_wasm(&wasm)?;
    let (result, _) = load(config(server.config(None)?, "none"), runtime);
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains(&format!(
            "the guest hit its table limit of {} elements",
            Limits::default().table_elements
        )) && message.contains("unreachable"),
        "{message}"
    );
    Ok(())
}

#[test]
fn open_connections_are_capped_per_instance() -> Result<()> {
    let server = PyKmip::start()?;
    let (keyring, _) = load(
        config(server.config(Some("hog"))?, "hog-connections"),
        hostile(),
    );
    // Load: 3 leaked + the session's own. First store: 3 more. Second store: the 8th
    // succeeds, the 9th traps.
    let keyring = keyring?;
    keyring.store("a", "", "AES", &[1u8; 16])?;
    let message = trapped(keyring.store("b", "", "AES", &[2u8; 16]));
    assert!(
        message.contains(&format!(
            "the guest holds {} open connections",
            budget::MAX_OPEN_CONNECTIONS
        )),
        "{message}"
    );
    assert!(keyring.fetch("a", "").is_some() && keyring.fetch("b", "").is_none());
    Ok(())
}

#[test]
fn host_calls_bytes_and_entropy_are_capped_per_call() -> Result<()> {
    let server = PyKmip::start()?;
    let (result, _) = load(config(server.config(None)?, "host-calls"), hostile());
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains(&format!(
            "more than {} host calls in one call",
            budget::MAX_HOST_CALLS
        )),
        "{message}"
    );
    let (result, _) = load(config(server.config(None)?, "log-bomb"), hostile());
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains(&format!(
            "handed more than {} MiB to the host in one call",
            budget::MAX_GUEST_TO_HOST_BYTES >> 20
        )),
        "{message}"
    );
    let (keyring, _) = load(
        config(server.config(Some("rng"))?, "entropy-flood"),
        hostile(),
    );
    let keyring = keyring?;
    let message = trapped(keyring.generate("k", "", "AES", 32));
    assert!(
        message.contains("more than 1024 KiB of random bytes in one call"),
        "{message}"
    );
    keyring.store("after", "", "AES", &[1u8; 32])?;
    Ok(())
}

#[test]
fn a_log_flood_is_cut_at_the_line_cap_and_counted() -> Result<()> {
    let server = PyKmip::start()?;
    let (keyring, log) = load(
        config(server.config(Some("flood"))?, "log-flood"),
        hostile(),
    );
    keyring?;
    let lines = log.lines();
    let flood = lines.iter().filter(|(_, l)| l.starts_with("xxxx")).count();
    assert_eq!(flood, budget::MAX_LOG_LINES as usize, "flood lines written");
    let summary = lines
        .iter()
        .find(|(_, l)| l.contains("more log lines during load were dropped"))
        .expect("one line counts the dropped ones");
    // 100 000 flood lines and the real load's own lines, less the 1 000 written.
    let dropped: u32 = summary.1.split_whitespace().nth(2).unwrap().parse()?;
    assert!(
        (99_000..99_100).contains(&dropped),
        "dropped {dropped}: {}",
        summary.1
    );
    assert!(lines.len() < budget::MAX_LOG_LINES as usize + 20);
    Ok(())
}

#[test]
fn kmip_messages_are_capped_per_call() -> Result<()> {
    // A write may send a few messages: against PyKMIP, the cap is reached at once.
    let server = PyKmip::start()?;
    let (keyring, _) = load(
        config(server.config(Some("chat"))?, "chatty-write"),
        hostile(),
    );
    let keyring = keyring?;
    let message = trapped(keyring.store("k", "", "AES", &[1u8; 32]));
    assert!(
        message.contains(&format!(
            "more than {} KMIP messages in one call",
            budget::MAX_MESSAGES_WRITE
        )),
        "{message}"
    );
    // A load may send many: against the fast peer, the cap is reached in seconds.
    let peer = FastPeer::start()?;
    let mut json = peer.config_json();
    json["object_group"] = "hostile=chatty;".into();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("component_keyring_kmip.cnf");
    let mut fast = Config::from_json(&path, &json.to_string())?;
    fast.limits = limits();
    let (result, _) = load(fast, hostile());
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains(&format!(
            "more than {} KMIP messages in one call",
            budget::MAX_MESSAGES_LOAD
        )),
        "{message}"
    );
    Ok(())
}

#[test]
fn a_result_that_points_many_times_at_the_same_bytes_is_not_copied() -> Result<()> {
    let server = PyKmip::start()?;
    // 100 entries x 1 MiB of SECRET data, all the same 1 MiB: the host would copy 100 MiB,
    // more than the guest's whole memory of 64 MiB.
    let (result, _) = load(config(server.config(None)?, "alias-list"), hostile());
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains("too much data is being copied between the host and the guest"),
        "{message}"
    );
    Ok(())
}

#[test]
fn a_load_of_the_most_keys_fits_a_quarter_of_the_loads_fuel_within_the_message_bound() -> Result<()>
{
    // The limits stop a guest that misbehaves, not a large keyring: MAX_KEYS keys, half
    // AES and half SECRET, load with the default memory and host budgets and a quarter of
    // the default fuel slice. Fuel is deterministic, so the default leaves four times
    // this headroom under the load's ceiling of MAX_FUEL_SLICES_LOAD slices.
    const N: usize = component_keyring_kmip::keyring::MAX_KEYS;
    let peer = FastPeer::start()?;
    peer.populate_mixed(0..N, "big-", Some("big"));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("component_keyring_kmip.cnf");
    let mut json = peer.config_json();
    json["object_group"] = "big".into();
    json["max_objects"] = (N / 2).into();
    json["sandbox_fuel_per_call"] = (Limits::default().fuel_per_call / 4).into();
    let config = Config::from_json(&path, &json.to_string())?;
    assert_eq!(config.limits.memory_bytes, Limits::default().memory_bytes);
    let before = peer.messages();
    let (keyring, log) = load(config, runtime());
    let keyring = keyring.map_err(|e| anyhow::anyhow!("{e}: {:?}", log.lines()))?;
    assert_eq!(keyring.len(), N);
    // The README's bound on a load's messages holds for a mix at this size.
    let sent = peer.messages() - before;
    let bound = kmip_keyring_rules::load_message_bound(
        N.div_ceil(2),
        N / 2,
        kmip_keyring_rules::DEFAULT_LOCATE_PAGE_SIZE,
    );
    assert!(sent <= bound, "{sent} request messages, bound {bound}");
    let secret = keyring
        .fetch(&format!("big-{}", N - 1), "")
        .expect("the last key is cached");
    assert_eq!(secret.key_type, "SECRET");
    Ok(())
}

#[test]
fn a_load_that_earns_fresh_fuel_with_cheap_requests_still_ends() -> Result<()> {
    // Computes, then sends a Discover Versions, forever: each slice sees a response, so
    // only the ceiling of slices stops it, after MAX_FUEL_SLICES_LOAD of them.
    let server = PyKmip::start()?;
    let mut cfg = config(server.config(Some("busy"))?, "busy-chatty");
    cfg.limits.fuel_per_call = 1_000_000_000;
    let (result, _) = load(cfg, hostile());
    let message = trapped(result.map(|_| ()));
    assert!(message.contains("all fuel consumed"), "{message}");
    assert!(
        !message.contains("without a KMIP response"),
        "it did talk to the server; the ceiling stopped it: {message}"
    );
    // A guest that computes without any request is stopped after one slice, saying so.
    let mut cfg = config(server.config(Some("loop"))?, "loop");
    cfg.limits.fuel_per_call = 1_000_000_000;
    let (result, _) = load(cfg, hostile());
    let message = trapped(result.map(|_| ()));
    assert!(
        message.contains("all fuel consumed by WebAssembly: 1000000000 fuel (sandbox_fuel_per_call) without a KMIP response"),
        "{message}"
    );
    Ok(())
}

#[test]
fn max_objects_refuses_a_load_with_more_keys_of_a_type_naming_the_key() -> Result<()> {
    // Percona's component keeps the first max_objects keys the server lists and drops the
    // rest silently; this one refuses the load and says which key to raise.
    let peer = FastPeer::start()?;
    peer.populate_mixed(0..21, "few-", Some("few"));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("component_keyring_kmip.cnf");
    let mut json = peer.config_json();
    json["object_group"] = "few".into();
    json["max_objects"] = 10.into();
    let (result, _) = load(Config::from_json(&path, &json.to_string())?, runtime());
    let message = result
        .map(|_| ())
        .expect_err("11 AES keys, 10 allowed")
        .to_string();
    assert!(
        message.contains("component_keyring_kmip.cnf: the field \"max_objects\" is 10, but the KMIP server holds 11 AES keys in object group few"),
        "{message}"
    );
    // 11 of one type and 10 of the other fit max_objects = 11: the limit is per type.
    json["max_objects"] = 11.into();
    let (keyring, _) = load(Config::from_json(&path, &json.to_string())?, runtime());
    assert_eq!(keyring?.len(), 21);
    Ok(())
}
