//! Availability against real KMIP servers: several servers with failover, every server
//! down, the key server leaving and coming back, and the TLS security defaults; where the
//! server kind matters not, against PyKMIP and Cosmian KMS both (tests/src/servers.rs).

use anyhow::{ensure, Context, Result};
use component_keyring_kmip::{Config, Keyring, KeyringError, LogLevel, LogSink, MemoryLog};
use kmip_keyring_tests::leak::hex;
use kmip_keyring_tests::pki::Pki;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use kmip_keyring_tests::servers::each;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A loopback port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn config_from(json: &Value, dir: &Path) -> Result<Config> {
    let path = dir.join(component_keyring_kmip::config::CONFIG_FILE_NAME);
    std::fs::write(&path, json.to_string())?;
    Ok(Config::from_file(&path)?)
}

fn load(config: Config) -> (Result<Keyring, KeyringError>, Arc<MemoryLog>) {
    let log = MemoryLog::shared();
    let keyring = Keyring::load(config, runtime(), log.clone() as Arc<dyn LogSink>);
    (keyring, log)
}

fn warnings(log: &MemoryLog) -> Vec<String> {
    log.lines()
        .into_iter()
        .filter(|(level, _)| *level == LogLevel::Warning)
        .map(|(_, line)| line)
        .collect()
}

/// Key material that tells which key it is, so a torn or swapped key shows.
fn key_bytes(i: usize) -> Vec<u8> {
    (0..32).map(|j| (i * 31 + j * 7) as u8 ^ 0x5a).collect()
}

#[test]
fn load_with_every_server_down_fails_once_naming_each_server() -> Result<()> {
    let server = PyKmip::start()?;
    let (a, b) = (dead_port(), dead_port());
    let mut json = server.config_json(None);
    json["server_addr"] = json!([format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")]);
    json["kmip_timeout_ms"] = 1000.into();
    let dir = tempfile::tempdir()?;
    let (result, _) = load(config_from(&json, dir.path())?);
    let message = result.expect_err("no server is up").to_string();
    assert!(
        message.starts_with("load: no KMIP server could be used"),
        "{message}"
    );
    for port in [a, b] {
        assert!(
            message.contains(&format!("127.0.0.1:{port}: refused")),
            "{port} missing: {message}"
        );
    }
    Ok(())
}

#[test]
fn the_first_server_down_the_second_serves_and_the_status_says_so() -> Result<()> {
    each(
        "availability::the_first_server_down_the_second_serves_and_the_status_says_so",
        |server| {
            let dead = dead_port();
            let mut json = server.config_json(None);
            json["server_addr"] = json!([
                format!("127.0.0.1:{dead}"),
                format!("127.0.0.1:{}", server.port())
            ]);
            json["kmip_timeout_ms"] = 1000.into();
            let dir = tempfile::tempdir()?;
            let (keyring, _) = load(config_from(&json, dir.path())?);
            let keyring = keyring?;
            keyring.store("via-second", "", "AES", &key_bytes(1))?;
            assert_eq!(
                keyring.session().server.as_deref(),
                Some(format!("127.0.0.1:{}", server.port()).as_str())
            );
            let rows = component_keyring_kmip::status::status_rows(Some(&keyring));
            let row = |n: &str| rows.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            assert_eq!(row("Server_addr").as_deref(), Some("127.0.0.1, 127.0.0.1"));
            assert_eq!(
                row("Server_port"),
                Some(format!("{dead}, {}", server.port()))
            );
            assert_eq!(
                row("Kmip_server_in_use"),
                Some(format!("127.0.0.1:{}", server.port()))
            );
            Ok(())
        },
    )
}

#[test]
fn the_key_server_leaves_and_returns_without_a_reload() -> Result<()> {
    each(
        "availability::the_key_server_leaves_and_returns_without_a_reload",
        |server| {
            let mut json = server.config_json(None);
            json["kmip_timeout_ms"] = 2000.into();
            let dir = tempfile::tempdir()?;
            let (keyring, _) = load(config_from(&json, dir.path())?);
            let keyring = keyring?;
            keyring.store("before", "", "AES", &key_bytes(1))?;

            server.stop();
            let started = Instant::now();
            let error = keyring
                .store("while-down", "", "AES", &key_bytes(2))
                .expect_err("the server is down");
            let message = error.to_string();
            assert!(
                message.contains(&format!("127.0.0.1:{}", server.port())),
                "the error names the server: {message}"
            );
            // One server, one deadline (plus the instance's own work): a generous functional
            // bound, not a speed measurement.
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "store blocked {:?}",
                started.elapsed()
            );
            assert!(keyring.fetch("while-down", "").is_none(), "nothing cached");
            assert_eq!(
                *keyring
                    .fetch("before", "")
                    .context("reads need no server")?
                    .data,
                key_bytes(1)
            );

            server.restart()?;
            keyring.store("after", "", "AES", &key_bytes(3))?;
            let (reloaded, _) = load(config_from(&json, dir.path())?);
            let reloaded = reloaded?;
            let names: Vec<String> = reloaded.key_ids().into_iter().map(|k| k.data_id).collect();
            assert_eq!(names, ["after", "before"], "cache and server agree");
            Ok(())
        },
    )
}

#[test]
fn three_servers_the_one_in_use_killed_during_a_burst_of_stores_loses_nothing() -> Result<()> {
    let first = PyKmip::start()?;
    let mut cluster = vec![first];
    for _ in 0..2 {
        let next = PyKmip::start_sharing(&cluster[0])?;
        cluster.push(next);
    }
    let mut json = cluster[0].config_json(Some("burst"));
    json["server_addr"] = json!(cluster
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect::<Vec<_>>());
    json["kmip_timeout_ms"] = 2000.into();
    let dir = tempfile::tempdir()?;
    let (keyring, log) = load(config_from(&json, dir.path())?);
    let keyring = Arc::new(keyring?);

    let burst = {
        let keyring = keyring.clone();
        std::thread::spawn(move || {
            (0..40)
                .map(|i| {
                    let name = format!("burst-{i:02}");
                    let result = keyring.store(&name, "", "AES", &key_bytes(i));
                    if i < 10 {
                        // Let the killer see the first stores land before it strikes.
                        std::thread::sleep(Duration::from_millis(30));
                    }
                    (i, name, result.map_err(|e| e.to_string()))
                })
                .collect::<Vec<_>>()
        })
    };
    // Wait (bounded) until some stores succeeded, then kill whichever server is in use.
    let waited = Instant::now();
    while keyring.len() < 5 && waited.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let in_use = keyring.session().server.context("a server is in use")?;
    let victim = cluster
        .iter()
        .position(|s| in_use.ends_with(&format!(":{}", s.port)))
        .context("the server in use is one of the cluster")?;
    cluster[victim].kill();
    let results = burst.join().expect("the burst thread does not panic");

    let succeeded: Vec<_> = results.iter().filter(|(_, _, r)| r.is_ok()).collect();
    let failed: Vec<_> = results.iter().filter(|(_, _, r)| r.is_err()).collect();
    assert!(
        succeeded.len() >= 35,
        "failover kept the burst going: {failed:?}\n{:?}",
        log.lines()
    );
    let now_in_use = keyring.session().server.context("still connected")?;
    assert_ne!(now_in_use, in_use, "another server took over");

    // A fresh load from the surviving servers: every success is there with its bytes,
    // and no failure is.
    let (reloaded, _) = load(config_from(&json, dir.path())?);
    let reloaded = reloaded?;
    for (i, name, _) in &succeeded {
        let key = reloaded
            .fetch(name, "")
            .with_context(|| format!("{name} reported stored but absent after reload"))?;
        assert_eq!(*key.data, key_bytes(*i), "{name}");
    }
    for (_, name, error) in &failed {
        ensure!(
            reloaded.fetch(name, "").is_none(),
            "{name} reported failed ({error:?}) but is stored"
        );
    }
    assert_eq!(reloaded.len(), succeeded.len());

    // The same, as PyKMIP's own client sees the store: our loader skips objects that were
    // registered but never activated, so it cannot show that a failed store left nothing.
    let survivor = cluster
        .iter()
        .find(|s| !in_use.ends_with(&format!(":{}", s.port)))
        .context("a surviving server")?;
    let uids: Vec<String> =
        serde_json::from_value(survivor.witness(&["locate", "SYMMETRIC_KEY"])?)?;
    let mut args = vec!["get"];
    args.extend(uids.iter().map(String::as_str));
    let seen: Vec<serde_json::Value> = serde_json::from_value(survivor.witness(&args)?)?;
    let in_burst = |o: &&serde_json::Value| o["object_groups"] == json!(["burst"]);
    let named = |name: &str| -> Vec<serde_json::Value> {
        seen.iter()
            .filter(in_burst)
            .filter(|o| {
                o["names"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|n| n == name))
            })
            .cloned()
            .collect()
    };
    for (i, name, _) in &succeeded {
        let objects = named(name);
        assert_eq!(
            objects.len(),
            1,
            "{name}: one object on the server: {objects:?}"
        );
        assert_eq!(objects[0]["state"], "ACTIVE", "{name}");
        assert_eq!(objects[0]["value_hex"], hex(&key_bytes(*i)), "{name}");
    }
    for (_, name, error) in &failed {
        let objects = named(name);
        assert!(
            objects.is_empty(),
            "{name} reported failed ({error:?}) but the server holds {objects:?}"
        );
    }
    assert_eq!(
        seen.iter().filter(in_burst).count(),
        succeeded.len(),
        "nothing else in the group, in any state"
    );
    Ok(())
}

#[test]
fn hostname_verification_is_on_by_default_and_its_opt_out_warns() -> Result<()> {
    let dir = tempfile::Builder::new().prefix("pykmip-").tempdir()?;
    let pki = Pki::generate_for_server(dir.path(), &["kms.invalid"], false)?;
    let server = PyKmip::start_with(dir, pki)?;
    let work = tempfile::tempdir()?;
    let mut json = server.config_json(None);
    json["kmip_timeout_ms"] = 3000.into();
    let (result, _) = load(config_from(&json, work.path())?);
    let message = result
        .expect_err("a certificate without 127.0.0.1 is not accepted for 127.0.0.1")
        .to_string();
    assert!(message.contains("not valid for name"), "{message}");

    json["tls_hostname_verification"] = false.into();
    let (result, log) = load(config_from(&json, work.path())?);
    result?.store("any-name", "", "AES", &key_bytes(1))?;
    assert!(
        warnings(&log)
            .iter()
            .any(|w| w.contains("tls_hostname_verification is off")),
        "{:?}",
        log.lines()
    );
    Ok(())
}

#[test]
fn tls_opt_outs_accept_what_the_defaults_refuse_and_warn() -> Result<()> {
    each(
        "availability::tls_opt_outs_accept_what_the_defaults_refuse_and_warn",
        |server| {
            let dir = tempfile::tempdir()?;

            // A server_ca that did not sign the server's certificate: refused, naming server_ca.
            let mut json = server.config_json(None);
            json["server_ca"] = server.pki().other_ca.to_string_lossy().into_owned().into();
            json["kmip_timeout_ms"] = 3000.into();
            let (result, _) = load(config_from(&json, dir.path())?);
            let message = result.expect_err("wrong CA").to_string();
            assert!(message.contains("UnknownIssuer"), "{message}");
            assert!(message.contains("checked against server_ca"), "{message}");

            // The same with peer verification off: it works, with a warning.
            json["tls_peer_verification"] = false.into();
            let (result, log) = load(config_from(&json, dir.path())?);
            let keyring = result?;
            keyring.store("unverified", "", "AES", &key_bytes(1))?;
            assert!(
                warnings(&log)
                    .iter()
                    .any(|w| w.contains("tls_peer_verification is off")),
                "{:?}",
                log.lines()
            );
            let rows = component_keyring_kmip::status::status_rows(Some(&keyring));
            assert!(rows.contains(&("Tls_peer_verification".into(), "false".into())));

            // "localhost" is in the certificate; with hostname verification off a name that is
            // not would pass too. The default stays on and quiet.
            let json = server.config_json(None);
            let (result, log) = load(config_from(&json, dir.path())?);
            result?;
            assert!(
                !warnings(&log).iter().any(|w| w.contains("verification")),
                "{:?}",
                log.lines()
            );
            Ok(())
        },
    )
}

#[test]
fn a_client_key_readable_by_others_is_warned_about() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let server = PyKmip::start()?;
    let dir = tempfile::tempdir()?;
    let key = &server.pki.client_key;
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644))?;
    let (result, log) = load(config_from(&server.config_json(None), dir.path())?);
    result?;
    let warned = warnings(&log);
    assert!(
        warned.iter().any(|w| w.contains("client_key")
            && w.contains(&key.display().to_string())
            && w.contains("can be read by other users")),
        "{warned:?}"
    );
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600))?;
    let (result, log) = load(config_from(&server.config_json(None), dir.path())?);
    result?;
    assert!(
        !warnings(&log).iter().any(|w| w.contains("client_key")),
        "{:?}",
        log.lines()
    );
    Ok(())
}

#[test]
fn preactive_objects_left_by_an_interrupted_store_are_skipped_on_load_with_a_note() -> Result<()> {
    let server = PyKmip::start()?;
    let full = key_bytes(1);
    let half = key_bytes(2);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let active = server.witness(&["register-aes", "stored", &hex(&full)])?;
    let preactive = server.witness(&["register-aes-preactive", "half-stored", &hex(&half)])?;
    let preactive_id = preactive["uid"].as_str().context("uid")?.to_owned();
    let seen = server.witness(&["get", &preactive_id])?;
    assert_eq!(seen[0]["state"], "PRE_ACTIVE");

    let dir = tempfile::tempdir()?;
    let (keyring, log) = load(config_from(&server.config_json(None), dir.path())?);
    let keyring = keyring?;
    let names: Vec<String> = keyring.key_ids().into_iter().map(|k| k.data_id).collect();
    assert_eq!(names, ["stored"], "only the Active object is a key");
    assert_eq!(
        keyring.fetch("stored", "").context("stored")?.object_id,
        active["uid"].as_str().context("uid")?
    );
    // A Note naming the object: the expected trace of a crash mid-store, so not a Warning
    // (MySQL's tests that kill mysqld mid-rotation fail on any Warning after the restart).
    let names_the_leftover = |line: &str| {
        line.contains(&format!("KMIP object {preactive_id}"))
            && line.contains("'half-stored'")
            && line.contains("PreActive")
    };
    let lines = log.lines();
    assert!(
        lines
            .iter()
            .any(|(level, line)| *level == LogLevel::Info && names_the_leftover(line)),
        "{lines:?}"
    );
    assert!(
        !warnings(&log).iter().any(|w| names_the_leftover(w)),
        "{lines:?}"
    );
    // The name is free for a real store, which then loads.
    keyring.store("half-stored", "", "AES", &half)?;
    let (reloaded, _) = load(config_from(&server.config_json(None), dir.path())?);
    assert_eq!(
        *reloaded?
            .fetch("half-stored", "")
            .context("stored now")?
            .data,
        half
    );
    Ok(())
}
