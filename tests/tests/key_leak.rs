//! Key bytes never reach a log: full sessions (stores, generates, fetches, removes, reloads and
//! failure paths with the server down) through the host API with every level captured and
//! through the C services with mysqld's error log captured, searched for each key in hex,
//! base64 and raw text.

use anyhow::{ensure, Result};
use component_keyring_kmip::{AesDirection, Keyring, KeyringError, LogSink, MemoryLog};
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::leak::{assert_no_leak, Key};
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use std::sync::Arc;

/// xorshift64 for key material that differs from key to key but is the same every run.
struct Xorshift(u64);

impl Xorshift {
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 32) as u8
            })
            .collect()
    }
}

/// The keys both sessions store: AES of each size, a printable and a binary SECRET.
fn stored_keys(seed: u64) -> Vec<(&'static str, &'static str, &'static str, Vec<u8>)> {
    let mut rng = Xorshift(seed);
    let mut binary = rng.bytes(46);
    // Bytes a C string or a UTF-8 conversion would stumble on.
    binary.extend([0x00, 0xff]);
    vec![
        ("leak-aes16", "", "AES", rng.bytes(16)),
        ("leak-aes24", "", "AES", rng.bytes(24)),
        ("leak-aes32", "root@localhost", "AES", rng.bytes(32)),
        (
            "leak-secret-text",
            "app@%",
            "SECRET",
            b"kmip-canary Tr0ub4dor&3 correct-horse-battery".to_vec(),
        ),
        ("leak-secret-binary", "", "SECRET", binary),
    ]
}

fn error_text(e: &KeyringError) -> [String; 2] {
    [e.to_string(), format!("{e:?}")]
}

#[test]
fn no_key_byte_reaches_the_host_log_at_any_level() -> Result<()> {
    const GROUP: &str = "leak-host";
    let mut server = PyKmip::start()?;
    let log = MemoryLog::shared();
    let keyring = Keyring::load(
        server.config(Some(GROUP))?,
        runtime(),
        log.clone() as Arc<dyn LogSink>,
    )?;
    // Errors returned and `Debug` forms are searched with the log: they end up in logs of
    // callers.
    let mut returned: Vec<String> = Vec::new();
    let mut keys = Vec::new();

    for (data_id, auth_id, key_type, bytes) in stored_keys(0xC0FFEE) {
        keyring.store(data_id, auth_id, key_type, &bytes)?;
        keys.push((data_id, auth_id, Key::new(data_id, &bytes)));
    }
    keyring.generate("leak-gen-aes", "", "AES", 32)?;
    keyring.generate("leak-gen-secret", "gen@%", "SECRET", 40)?;
    for (data_id, auth_id) in [("leak-gen-aes", ""), ("leak-gen-secret", "gen@%")] {
        let key = keyring
            .fetch(data_id, auth_id)
            .expect("generated key cached");
        returned.push(format!("{key:?}"));
        keys.push((data_id, auth_id, Key::new(data_id, &key.data)));
    }
    for (data_id, auth_id, key) in &keys {
        let cached = keyring.fetch(data_id, auth_id).expect("stored key cached");
        assert_eq!(*cached.data, key.bytes, "{data_id}");
        returned.push(format!("{cached:?}"));
    }
    keyring.aes(
        AesDirection::Encrypt,
        "leak-aes32",
        "root@localhost",
        "cbc",
        256,
        &[7; 16],
        true,
        b"a row of InnoDB",
    )?;
    keyring.remove("leak-aes24", "")?;

    // Refused requests carrying key material of their own.
    let mut rng = Xorshift(0xBAD5EED);
    let duplicate = rng.bytes(32);
    let short = rng.bytes(10);
    for (what, result) in [
        (
            "store of an existing id",
            keyring.store("leak-aes16", "", "AES", &duplicate),
        ),
        (
            "generate of an existing id",
            keyring.generate("leak-aes32", "root@localhost", "AES", 32),
        ),
        (
            "AES key of 10 bytes",
            keyring.store("leak-short", "", "AES", &short),
        ),
    ] {
        let e = result.expect_err(what);
        returned.extend(error_text(&e));
    }
    returned.push(format!("{keyring:?}"));

    // A second load reads every key back from the server.
    let reload_log = MemoryLog::shared();
    let reloaded = Keyring::load(
        server.config(Some(GROUP))?,
        runtime(),
        reload_log.clone() as Arc<dyn LogSink>,
    )?;
    assert_eq!(reloaded.key_ids(), keyring.key_ids());
    for (data_id, auth_id, key) in &keys {
        if *data_id != "leak-aes24" {
            assert_eq!(*reloaded.fetch(data_id, auth_id).unwrap().data, key.bytes);
        }
    }

    // The server goes away: the writes fail, and so does a new load.
    server.stop();
    let late = rng.bytes(24);
    let down_log = MemoryLog::shared();
    for (what, result) in [
        (
            "remove with the server down",
            keyring.remove("leak-aes32", "root@localhost"),
        ),
        (
            "store with the server down",
            keyring.store("leak-late", "", "AES", &late),
        ),
        (
            "generate with the server down",
            keyring.generate("leak-late-gen", "", "SECRET", 64),
        ),
        (
            "load with the server down",
            Keyring::load(
                server.config(Some(GROUP))?,
                runtime(),
                down_log.clone() as Arc<dyn LogSink>,
            )
            .map(drop),
        ),
    ] {
        let e = result.expect_err(what);
        returned.extend(error_text(&e));
    }
    assert!(
        returned
            .iter()
            .any(|e| e.contains("no KMIP server could be used")),
        "the failures were the server's absence: {returned:#?}"
    );

    let mut lines: Vec<String> = [&log, &reload_log, &down_log]
        .iter()
        .flat_map(|l| l.lines())
        .map(|(level, line)| format!("{level:?}: {line}"))
        .collect();
    ensure!(
        lines.iter().any(|l| l.contains("keyring loaded")),
        "the log was captured: {lines:#?}"
    );
    lines.extend(returned);
    let mut all_keys: Vec<Key> = keys.into_iter().map(|(_, _, k)| k).collect();
    all_keys.extend([
        Key::new("duplicate store", &duplicate),
        Key::new("short AES", &short),
        Key::new("store while down", &late),
    ]);
    assert_no_leak(&lines, &all_keys);
    Ok(())
}

#[test]
fn no_key_byte_reaches_mysqlds_error_log_through_the_c_services() -> Result<()> {
    const GROUP: &str = "leak-abi";
    let mut server = PyKmip::start()?;
    let install = Install::new(&server, Some(GROUP))?;
    let (c, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    ensure!(loaded, "load failed: {:?}", registry::log_lines());
    let owner = |auth: &'static str| (!auth.is_empty()).then_some(auth);
    let (plugin_dir, data_dir) = (
        format!("{}/", install.plugin_dir.display()),
        format!("{}/", install.data_dir.display()),
    );
    // Row values and key names are not the error log, but mysqld shows them to users.
    let mut shown: Vec<String> = Vec::new();

    let mut keys = Vec::new();
    for (data_id, auth_id, key_type, bytes) in stored_keys(0xFACADE) {
        ensure!(
            c.store(data_id, owner(auth_id), &bytes, key_type),
            "store {data_id}"
        );
        keys.push((data_id, auth_id, Key::new(data_id, &bytes)));
    }
    ensure!(c.generate("leak-gen-aes", None, "AES", 32));
    ensure!(c.generate("leak-gen-secret", Some("gen@%"), "SECRET", 40));
    for (data_id, auth_id) in [("leak-gen-aes", ""), ("leak-gen-secret", "gen@%")] {
        let (bytes, _) = c.read_secret(data_id, owner(auth_id)).unwrap().unwrap();
        keys.push((data_id, auth_id, Key::new(data_id, &bytes)));
    }
    for (data_id, auth_id, key) in &keys {
        let (bytes, _) = c.read_secret(data_id, owner(auth_id)).unwrap().unwrap();
        assert_eq!(bytes, key.bytes, "{data_id}");
    }
    let size = c.aes_size(15, "cbc", 256).unwrap();
    ensure!(c
        .aes(
            true,
            "leak-aes32",
            Some("root@localhost"),
            "cbc",
            256,
            &[7; 16],
            true,
            b"a row of InnoDB",
            size
        )
        .is_some());
    ensure!(c.remove("leak-aes24", None));

    let mut rng = Xorshift(0xBAD5EED);
    let duplicate = rng.bytes(32);
    let short = rng.bytes(10);
    ensure!(
        !c.store("leak-aes16", None, &duplicate, "AES"),
        "duplicate store refused"
    );
    ensure!(!c.generate("leak-aes32", Some("root@localhost"), "AES", 32));
    ensure!(
        !c.store("leak-short", None, &short, "AES"),
        "10-byte AES refused"
    );

    // RELOAD KEYRING reads every key back from the server.
    ensure!(c.keyring_load(&plugin_dir, &data_dir), "reload");
    for (data_id, auth_id, key) in &keys {
        let read = c.read_secret(data_id, owner(auth_id)).unwrap();
        if *data_id == "leak-aes24" {
            assert_eq!(read, None);
        } else {
            assert_eq!(read.unwrap().0, key.bytes, "{data_id} after reload");
        }
    }
    shown.extend(c.keys()?.into_iter().flat_map(|(d, a)| [d, a]));
    shown.extend(
        c.status_rows()?
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}")),
    );

    // The server goes away: writes fail with an error logged; a reload fails and says so.
    server.stop();
    let late = rng.bytes(24);
    ensure!(
        !c.remove("leak-aes32", Some("root@localhost")),
        "remove with the server down"
    );
    ensure!(
        !c.store("leak-late", None, &late, "AES"),
        "store with the server down"
    );
    ensure!(
        !c.generate("leak-late-gen", None, "SECRET", 64),
        "generate with the server down"
    );
    ensure!(
        !c.keyring_load(&plugin_dir, &data_dir),
        "reload with the server down"
    );
    shown.extend(
        c.status_rows()?
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}")),
    );

    // Each of the seven refused calls logged its line with MySQL's text: the three the
    // request caused at MySQL's Information level (3), the four the down server caused at
    // Error (1). Those lines carry the most detail, so the leak search below covers them.
    let logged = registry::log_lines();
    let refusals = |severity: i32| {
        logged
            .iter()
            .filter(|(s, line)| {
                *s == severity
                    && [
                        "Error writing data for Data ID:",
                        "Error generating data for Data ID:",
                        "Error removing data for Data ID:",
                        "The component is not initialized properly.",
                    ]
                    .iter()
                    .any(|text| line.starts_with(text))
            })
            .count()
    };
    ensure!(
        refusals(3) == 3 && refusals(1) == 4,
        "each refused call logged one line with MySQL's text: {logged:#?}"
    );
    let mut lines: Vec<String> = logged
        .into_iter()
        .map(|(severity, line)| format!("{severity}: {line}"))
        .collect();
    lines.extend(shown);
    let mut all_keys: Vec<Key> = keys.into_iter().map(|(_, _, k)| k).collect();
    all_keys.extend([
        Key::new("duplicate store", &duplicate),
        Key::new("short AES", &short),
        Key::new("store while down", &late),
    ]);
    assert_no_leak(&lines, &all_keys);
    c.shutdown()
}
