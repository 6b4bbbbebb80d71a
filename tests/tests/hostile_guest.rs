//! The sandbox against a hostile guest (tests/hostile-guest): every misbehaviour ends the
//! operation with a clean error, the keyring's state stays intact, and the next operation
//! works; no key byte reaches the log.

use anyhow::Result;
use component_keyring_kmip::sandbox::SandboxError;
use component_keyring_kmip::{
    Config, Keyring, KeyringError, Limits, LogLevel, LogSink, MemoryLog, Runtime,
};
use kmip_keyring_tests::leak::{assert_no_leak, Key};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::{runtime, workspace_root};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

fn hostile_wasm() -> Vec<u8> {
    let path =
        workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-guest.sh", path.display()))
}

/// Smaller limits than production so the suite runs quickly; the mechanisms are the same.
const TEST_LIMITS: Limits = Limits {
    memory_bytes: 64 << 20,
    table_elements: 100_000,
    fuel_per_call: 2_000_000_000,
};

fn hostile() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Runtime::from_wasm(&hostile_wasm()).expect("hostile guest compiles"))
        .clone()
}

fn config(server: &PyKmip, mode: &str) -> Result<Config> {
    let mut config = server.config(Some(&format!("hostile={mode};hostile-tests")))?;
    config.limits = TEST_LIMITS;
    Ok(config)
}

fn load(server: &PyKmip, mode: &str) -> (Result<Keyring, KeyringError>, Arc<MemoryLog>) {
    let log = MemoryLog::shared();
    let started = Instant::now();
    let result = config(server, mode)
        .map_err(|e| KeyringError::InvalidArgument(e.to_string()))
        .and_then(|c| Keyring::load(c, hostile(), log.clone() as Arc<dyn LogSink>));
    eprintln!(
        "hostile mode {mode}: load returned after {:?}",
        started.elapsed()
    );
    (result, log)
}

/// Stores a key in the hostile guests' real group through the embedded guest.
fn store_with_the_real_guest(server: &PyKmip, data_id: &str, byte: u8) -> Result<()> {
    let keyring = Keyring::load(
        server.config(Some("hostile-tests"))?,
        runtime(),
        MemoryLog::shared(),
    )?;
    keyring.store(data_id, "", "AES", &[byte; 32])?;
    Ok(())
}

fn trapped(result: Result<impl std::fmt::Debug, KeyringError>) -> String {
    match result {
        Err(KeyringError::Sandbox(SandboxError::Trapped(m))) => m,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn runaway_guests_are_stopped_by_fuel_and_the_memory_cap() -> Result<()> {
    let server = PyKmip::start()?;
    let (result, _) = load(&server, "loop");
    let message = trapped(result);
    assert!(message.contains("fuel"), "{message}");
    let (result, _) = load(&server, "alloc");
    let message = trapped(result);
    assert!(
        message.to_lowercase().contains("memory") || message.contains("alloc"),
        "{message}"
    );
    Ok(())
}

#[test]
fn lies_and_misuse_are_refused() -> Result<()> {
    let server = PyKmip::start()?;
    let (result, _) = load(&server, "huge-list");
    let err = result.expect_err("300 000 keys are refused").to_string();
    assert!(err.contains("more keys than"), "{err}");
    let (result, _) = load(&server, "bad-data");
    let err = result.expect_err("impossible keys are refused").to_string();
    assert!(err.contains("'short'") && err.contains("7 bytes"), "{err}");
    let (result, _) = load(&server, "bad-index");
    let err = result.expect_err("unknown server index").to_string();
    assert!(
        err.contains("no KMIP server is configured at index 4096"),
        "{err}"
    );
    for mode in ["stale-handle", "use-after-close", "bad-utf8"] {
        let (result, _) = load(&server, mode);
        let message = trapped(result);
        eprintln!("{mode}: {message}");
        assert!(message.starts_with("load: "), "{mode}: {message}");
    }
    Ok(())
}

#[test]
fn a_trap_mid_store_poisons_only_that_instance() -> Result<()> {
    let server = PyKmip::start()?;
    let (good, _) = load(&server, "none");
    let keyring = good?;
    // A good guest stored a key earlier...
    store_with_the_real_guest(&server, "kept", 3)?;
    let (hostile_keyring, log) = load(&server, "trap-store");
    let hostile_keyring = hostile_keyring?;
    assert!(hostile_keyring.fetch("kept", "").is_some());
    let message = trapped(hostile_keyring.store("half", "", "AES", &[4u8; 16]));
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        log.lines()
            .iter()
            .any(|(_, l)| l.contains("trap in the middle of a store")),
        "{:?}",
        log.lines()
    );
    // The cache is intact and the next operation runs on a fresh instance.
    assert_eq!(
        *hostile_keyring.fetch("kept", "").unwrap().data,
        vec![3u8; 32]
    );
    assert!(hostile_keyring.fetch("half", "").is_none());
    hostile_keyring.remove("kept", "")?;
    assert!(hostile_keyring.fetch("kept", "").is_none());
    // Nothing half-stored is on the server.
    let reloaded = Keyring::load(
        server.config(Some("hostile-tests"))?,
        runtime(),
        MemoryLog::shared(),
    )?;
    assert!(reloaded.fetch("half", "").is_none());
    assert!(reloaded.fetch("kept", "").is_none());
    drop(keyring);
    Ok(())
}

#[test]
fn a_guest_that_claims_endless_objects_left_on_the_server_is_capped() -> Result<()> {
    use component_keyring_kmip::keyring::MAX_LEFT_ON_SERVER;
    let server = PyKmip::start()?;
    store_with_the_real_guest(&server, "kept", 5)?;
    let (keyring, log) = load(&server, "leftover-flood");
    let keyring = keyring?;
    let err = keyring
        .store("claimed", "", "AES", &[6u8; 32])
        .expect_err("the hostile guest fails every store");
    assert!(err.to_string().contains("fails every store"), "{err}");
    // 100 000 claimed, MAX_LEFT_ON_SERVER kept, and the rest named as dropped.
    assert_eq!(keyring.objects_left_on_server(), MAX_LEFT_ON_SERVER);
    let dropped = 100_000 - MAX_LEFT_ON_SERVER;
    assert!(
        log.lines()
            .iter()
            .any(|(level, l)| *level == LogLevel::Error
                && l.contains("handed over 100000 KMIP objects")
                && l.contains(&format!("{dropped} are not"))),
        "{:?}",
        log.lines()
    );
    assert_eq!(
        *keyring.fetch("kept", "").expect("kept").data,
        vec![5u8; 32]
    );
    // A RELOAD on the same servers takes them all back (the server has none of them, and
    // gone counts as taken back) and serves the real keys as before.
    let reloaded = Keyring::reload(
        config(&server, "leftover-flood")?,
        hostile(),
        log.clone() as Arc<dyn LogSink>,
        &keyring,
    )?;
    assert_eq!(reloaded.objects_left_on_server(), 0);
    assert_eq!(keyring.objects_left_on_server(), 0, "the list is shared");
    assert_eq!(
        *reloaded.fetch("kept", "").expect("kept").data,
        vec![5u8; 32]
    );
    Ok(())
}

#[test]
fn a_guest_that_names_live_keys_as_left_on_the_server_is_not_believed() -> Result<()> {
    let server = PyKmip::start()?;
    store_with_the_real_guest(&server, "live", 8)?;
    let (keyring, log) = load(&server, "leftover-lie");
    let keyring = keyring?;
    assert!(keyring.store("claimed", "", "AES", &[9u8; 32]).is_err());
    assert_eq!(keyring.objects_left_on_server(), 0);
    assert!(
        log.lines()
            .iter()
            .any(|(level, l)| *level == LogLevel::Error
                && l.contains("cached keys are served by them; they are not taken back")),
        "{:?}",
        log.lines()
    );
    // The live key is still served, here and by a fresh load: nothing took it back.
    assert_eq!(
        *keyring.fetch("live", "").expect("live").data,
        vec![8u8; 32]
    );
    let fresh = Keyring::load(
        server.config(Some("hostile-tests"))?,
        runtime(),
        MemoryLog::shared(),
    )?;
    assert_eq!(*fresh.fetch("live", "").expect("live").data, vec![8u8; 32]);
    Ok(())
}

#[test]
fn wasm_faults_come_back_as_errors_and_the_next_call_works() -> Result<()> {
    let server = PyKmip::start()?;
    for (mode, expected) in [
        ("oob", "out of bounds"),
        ("div0", "divide by zero"),
        ("unreachable", "unreachable"),
    ] {
        let (keyring, _) = load(&server, mode);
        let keyring = keyring?;
        let message = trapped(keyring.generate("INNODBKey-x-1", "", "AES", 32));
        assert!(message.contains(expected), "{mode}: {message}");
        keyring.store("after-fault", "", "SECRET", b"still works")?;
        keyring.remove("after-fault", "")?;
    }
    Ok(())
}

#[test]
fn key_material_a_guest_writes_to_the_log_is_redacted() -> Result<()> {
    let server = PyKmip::start()?;
    let (keyring, log) = load(&server, "log-keys");
    let keyring = keyring?;
    keyring.generate("leaky", "", "AES", 32)?;
    let key = keyring.fetch("leaky", "").unwrap();
    let lines: Vec<String> = log.lines().into_iter().map(|(_, l)| l).collect();
    assert!(lines.iter().any(|l| l.contains("[redacted]")), "{lines:?}");
    // The guest logs the key in hex and in base64: the same search as key_leak's finds
    // every form, and proves on planted lines that it would.
    assert_no_leak(&lines, &[Key::new("leaky", &key.data)]);
    Ok(())
}

#[test]
fn a_guest_module_is_pinned_by_its_sha256_and_must_implement_the_world() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.wasm");
    std::fs::write(&path, hostile_wasm()).unwrap();
    let wrong = component_keyring_kmip::config::GuestModule {
        path: path.clone(),
        sha256: "00".repeat(32),
    };
    let err = Runtime::from_module(&wrong)
        .expect_err("mismatch refused")
        .to_string();
    assert!(
        err.contains("guest_sha256 pins") && err.contains("vendor.wasm"),
        "{err}"
    );
    std::fs::write(&path, b"\0asm\x0d\0\x01\0").unwrap();
    let err = Runtime::from_wasm(&std::fs::read(&path).unwrap())
        .expect_err("not a guest")
        .to_string();
    assert!(err.contains("cannot be used"), "{err}");
}

#[test]
fn a_guest_for_another_wit_version_is_refused_naming_what_is_missing() {
    let path =
        workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_wrong_world_guest.wasm");
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let err = Runtime::from_wasm(&wasm)
        .expect_err("another contract version is refused")
        .to_string();
    eprintln!("{err}");
    assert!(err.contains("mysql:keyring-kmip/keyring@0.3.0"), "{err}");
}
