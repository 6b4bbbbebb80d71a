//! `keyring-kmip check` and `list`, the built binary run as an operator runs it, against a
//! real PyKMIP server over mutual TLS: a good configuration, each broken piece (a field,
//! a file, an expired certificate, a wrong CA, a server down), the probe write, and a
//! listing with keys of two owners and a PreActive leftover.

use anyhow::{ensure, Context, Result};
use component_keyring_kmip::{Keyring, LogSink, MemoryLog};
use kmip_keyring_tests::leak::hex;
use kmip_keyring_tests::pki::{certificate_valid, Pki};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::{runtime, workspace_root};
use rcgen::{date_time_ymd, CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The tool as scripts/test.sh builds it (`cargo build --release -p keyring-kmip`).
fn binary() -> PathBuf {
    let path = workspace_root().join("target/release/keyring-kmip");
    assert!(
        path.exists(),
        "{} is not built: scripts/test.sh builds it first",
        path.display()
    );
    path
}

/// Exit status, stdout and stderr of one run.
fn run(args: &[&str]) -> Result<(i32, String, String)> {
    let out = Command::new(binary()).args(args).output()?;
    Ok((
        out.status.code().context("the tool was killed")?,
        String::from_utf8(out.stdout)?,
        String::from_utf8(out.stderr)?,
    ))
}

fn write_config(dir: &Path, name: &str, json: &Value) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, json.to_string())?;
    Ok(path)
}

/// `check --config FILE` must fail (exit 1) with a FAILED line for `check` that says `says`.
fn fails(config: &Path, check: &str, says: &str) -> Result<String> {
    let (code, out, err) = run(&["check", "--config", config.to_str().unwrap()])?;
    ensure!(code == 1, "exit {code}, expected 1:\n{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("FAILED") && l.contains(check))
        .with_context(|| format!("no FAILED line for {check}:\n{out}"))?;
    ensure!(
        line.contains(says),
        "the {check} line does not say {says:?}: {line}"
    );
    ensure!(
        out.contains("fix: "),
        "a failure comes with its fix:\n{out}"
    );
    Ok(out)
}

#[test]
fn check_passes_a_good_configuration_and_its_write_test() -> Result<()> {
    let server = PyKmip::start()?;
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), "good.cnf", &server.config_json(Some("cli")))?;
    let (code, out, err) = run(&[
        "check",
        "--config",
        config.to_str().unwrap(),
        "--write-test",
    ])?;
    assert_eq!(code, 0, "{out}{err}");
    println!("{out}");
    let port = server.port;
    for expected in [
        "passed   configuration: ",
        "passed   file client_ca: ",
        "passed   certificate client_ca: ",
        "passed   certificate server_ca: ",
        "passed   client certificate use: ",
        "passed   client key and certificate: client_key belongs to client_ca's certificate",
        &format!("passed   server 1 127.0.0.1:{port}: name resolution: "),
        &format!("passed   server 1 127.0.0.1:{port}: TCP connect: "),
        &format!("passed   server 1 127.0.0.1:{port}: TLS handshake: mutual TLS established"),
        &format!("server 1 127.0.0.1:{port}: KMIP: KMIP 1."),
        "passed   write test: stored, read back and removed probe key keyring-kmip-probe-",
        " 0 failed",
    ] {
        assert!(out.contains(expected), "missing {expected:?}:\n{out}");
    }
    // The probe is gone again, as PyKMIP's own client sees the server.
    let left: Vec<String> = serde_json::from_value(server.witness(&["locate", "SYMMETRIC_KEY"])?)?;
    assert!(left.is_empty(), "the probe key was left behind: {left:?}");

    // The same as JSON, for monitoring.
    let (code, out, _) = run(&["check", "--config", config.to_str().unwrap(), "--json"])?;
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out)?;
    assert_eq!(report["ok"], true);
    let checks = report["checks"].as_array().context("checks")?;
    assert!(checks.len() >= 10, "{report}");
    assert!(checks
        .iter()
        .all(|c| c["outcome"] == "passed" && c["name"].is_string() && c["detail"].is_string()));
    Ok(())
}

#[test]
fn check_resolves_the_configuration_as_the_component_does() -> Result<()> {
    let server = PyKmip::start()?;
    let plugin = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    write_config(
        plugin.path(),
        "component_keyring_kmip.cnf",
        &serde_json::json!({"read_local_config": true}),
    )?;
    let local = write_config(
        data.path(),
        "component_keyring_kmip.cnf",
        &server.config_json(None),
    )?;
    let (code, out, err) = run(&[
        "check",
        "--plugin-dir",
        plugin.path().to_str().unwrap(),
        "--datadir",
        data.path().to_str().unwrap(),
    ])?;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("passed   configuration: {}", local.display())),
        "the data dir's file is the one used:\n{out}"
    );
    // Neither --config nor the directories: a usage error.
    let (code, _, err) = run(&["check"])?;
    assert_eq!(code, 2, "{err}");
    Ok(())
}

#[test]
fn check_names_each_broken_piece_and_its_fix() -> Result<()> {
    let server = PyKmip::start()?;
    let dir = tempfile::tempdir()?;
    let good = server.config_json(None);

    // A field of the wrong type: the file and the field are named.
    let mut bad = good.clone();
    bad["server_port"] = server.port.into();
    let path = write_config(dir.path(), "port.cnf", &bad)?;
    fails(
        &path,
        "configuration",
        "the field \"server_port\" must be a JSON string",
    )?;

    // A required field missing, and a number out of range.
    let mut bad = good.clone();
    bad.as_object_mut().unwrap().remove("server_addr");
    let path = write_config(dir.path(), "addr.cnf", &bad)?;
    fails(
        &path,
        "configuration",
        "the required field \"server_addr\" is missing",
    )?;
    let mut bad = good.clone();
    bad["locate_page_size"] = 1.into();
    let path = write_config(dir.path(), "page.cnf", &bad)?;
    fails(&path, "configuration", "locate_page_size")?;

    // Verification turned off: a warning, not a failure (the component warns too).
    let mut relaxed = good.clone();
    relaxed["tls_peer_verification"] = false.into();
    let path = write_config(dir.path(), "relaxed.cnf", &relaxed)?;
    let (code, out, _) = run(&["check", "--config", path.to_str().unwrap()])?;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("warning  TLS verification: tls_peer_verification is off")),
        "{out}"
    );

    // A file that does not exist.
    let mut bad = good.clone();
    bad["client_key"] = "/nonexistent/client.key".into();
    let path = write_config(dir.path(), "key.cnf", &bad)?;
    fails(
        &path,
        "file client_key",
        "client_key (/nonexistent/client.key)",
    )?;

    // An expired client certificate.
    let expired = dir.path().join("expired.pem");
    std::fs::write(&expired, certificate_valid(2001, 2002)?)?;
    let mut bad = good.clone();
    bad["client_ca"] = expired.to_str().unwrap().into();
    let path = write_config(dir.path(), "expired.cnf", &bad)?;
    fails(&path, "certificate client_ca", "expired")?;

    // A client certificate expiring in 10 days: a warning, with the days left.
    let soon = std::time::SystemTime::now() + std::time::Duration::from_secs(10 * 86_400);
    let day = component_keyring_kmip::keyring::utc(soon);
    let ymd: Vec<i32> = day[..10].split('-').map(|n| n.parse().unwrap()).collect();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(ymd[0], ymd[1] as u8, ymd[2] as u8);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let expiring = dir.path().join("expiring.pem");
    std::fs::write(&expiring, params.self_signed(&key)?.pem())?;
    let mut bad = good.clone();
    bad["client_ca"] = expiring.to_str().unwrap().into();
    let path = write_config(dir.path(), "expiring.cnf", &bad)?;
    let (_, out, _) = run(&["check", "--config", path.to_str().unwrap()])?;
    let line = out
        .lines()
        .find(|l| l.starts_with("warning  certificate client_ca"))
        .with_context(|| format!("no expiry warning:\n{out}"))?;
    assert!(
        line.contains("expires in 9 days") || line.contains("expires in 10 days"),
        "{line}"
    );

    // A client certificate for servers only (Extended Key Usage serverAuth).
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let server_only = dir.path().join("server-only.pem");
    std::fs::write(&server_only, params.self_signed(&key)?.pem())?;
    let mut bad = good.clone();
    bad["client_ca"] = server_only.to_str().unwrap().into();
    let path = write_config(dir.path(), "eku.cnf", &bad)?;
    fails(
        &path,
        "client certificate use",
        "does not allow TLS client authentication",
    )?;

    // The key of another certificate.
    let other = tempfile::tempdir()?;
    let other_pki = Pki::generate(other.path())?;
    let mut bad = good.clone();
    bad["client_key"] = other_pki.client_key.to_str().unwrap().into();
    let path = write_config(dir.path(), "pair.cnf", &bad)?;
    fails(
        &path,
        "client key and certificate",
        "does not belong to the certificate",
    )?;

    // A key file others can read: a warning.
    let open_key = dir.path().join("open.key");
    std::fs::copy(&server.pki.client_key, &open_key)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644))?;
    }
    let mut bad = good.clone();
    bad["client_key"] = open_key.to_str().unwrap().into();
    let path = write_config(dir.path(), "open.cnf", &bad)?;
    let (code, out, _) = run(&["check", "--config", path.to_str().unwrap()])?;
    assert_eq!(code, 0, "a warning is not a failure:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("warning  client_key permissions") && l.contains("mode 644")),
        "{out}"
    );

    // A CA that did not sign the server's certificate: what the server presented is shown.
    let mut bad = good.clone();
    bad["server_ca"] = other_pki.ca.to_str().unwrap().into();
    let path = write_config(dir.path(), "ca.cnf", &bad)?;
    let out = fails(
        &path,
        "TLS handshake",
        "the server presented a certificate for",
    )?;
    println!("{out}");
    assert!(out.contains("issued by"), "{out}");

    // A server that is down: nothing listens on the port.
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut bad = good.clone();
    bad["server_port"] = closed.to_string().into();
    let path = write_config(dir.path(), "down.cnf", &bad)?;
    fails(
        &path,
        "TCP connect",
        &format!("no connection on port {closed} of 127.0.0.1 within kmip_timeout_ms"),
    )?;
    Ok(())
}

#[test]
fn list_shows_owners_types_states_and_a_preactive_leftover_never_bytes() -> Result<()> {
    let server = PyKmip::start()?;
    let dir = tempfile::tempdir()?;
    let config = server.config(None)?;
    let keyring = Keyring::load(config, runtime(), MemoryLog::shared() as Arc<dyn LogSink>)?;
    let aes = [0x5au8; 32];
    keyring.store("INNODBKey-list-1", "", "AES", &aes)?;
    keyring.store("app-secret", "app@%", "SECRET", b"a password of the app")?;
    keyring.store("root-key", "root@localhost", "AES", &[0x33u8; 16])?;
    let half = [0x77u8; 32];
    let leftover = server.witness(&["register-aes-preactive", "half-stored", &hex(&half)])?;
    let leftover_id = leftover["uid"].as_str().context("uid")?.to_owned();
    let path = write_config(dir.path(), "list.cnf", &server.config_json(None))?;

    let (code, out, err) = run(&["list", "--config", path.to_str().unwrap()])?;
    assert_eq!(code, 0, "{out}{err}");
    println!("{out}");
    let row = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{out}"))
            .to_owned()
    };
    let innodb = row("INNODBKey-list-1");
    assert!(
        innodb.contains(" AES ") && innodb.contains(" 32 ") && innodb.contains("Active"),
        "{innodb}"
    );
    let secret = row("app-secret");
    assert!(
        secret.contains("app@%") && secret.contains("SECRET") && secret.contains(" 21 "),
        "{secret}"
    );
    let root = row("root-key");
    assert!(
        root.contains("root@localhost") && root.contains(" 16 "),
        "{root}"
    );
    let half_row = row("half-stored");
    assert!(
        half_row.contains("PreActive")
            && half_row.contains(&leftover_id)
            && half_row.contains("leftover"),
        "{half_row}"
    );
    assert!(out.contains("4 objects, 1 PreActive leftovers"), "{out}");
    // Never a key byte, in any form.
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    kmip_keyring_tests::leak::assert_no_leak(
        &lines,
        &[
            kmip_keyring_tests::leak::Key::new("aes", &aes),
            kmip_keyring_tests::leak::Key::new("secret", b"a password of the app"),
            kmip_keyring_tests::leak::Key::new("half", &half),
        ],
    );

    // Nor does check, in text or JSON, on either stream.
    for json in [false, true] {
        let mut args = vec!["check", "--config", path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let (_, out, err) = run(&args)?;
        let lines: Vec<String> = out.lines().chain(err.lines()).map(str::to_owned).collect();
        kmip_keyring_tests::leak::assert_no_leak(
            &lines,
            &[
                kmip_keyring_tests::leak::Key::new("aes", &aes),
                kmip_keyring_tests::leak::Key::new("secret", b"a password of the app"),
                kmip_keyring_tests::leak::Key::new("half", &half),
            ],
        );
    }

    let (code, out, _) = run(&["list", "--config", path.to_str().unwrap(), "--json"])?;
    assert_eq!(code, 0);
    let objects: Vec<Value> = serde_json::from_str(&out)?;
    assert_eq!(objects.len(), 4);
    let secret = objects
        .iter()
        .find(|o| o["data_id"] == "app-secret")
        .context("app-secret in the JSON")?;
    assert_eq!(secret["auth_id"], "app@%");
    assert_eq!(secret["key_type"], "SECRET");
    assert_eq!(secret["length"], 21);

    // check counts the same keys against max_objects: two Active AES keys, one allowed.
    let mut tight = server.config_json(None);
    tight["max_objects"] = 1.into();
    let tight_path = write_config(dir.path(), "tight.cnf", &tight)?;
    fails(
        &tight_path,
        "KMIP",
        "2 AES keys is more than max_objects (1) allows: a load fails",
    )?;

    // The server down: the listing fails, naming the server.
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut down = server.config_json(None);
    down["server_port"] = closed.to_string().into();
    let path = write_config(dir.path(), "down.cnf", &down)?;
    let (code, _, err) = run(&["list", "--config", path.to_str().unwrap()])?;
    assert_eq!(code, 1);
    assert!(err.contains(&format!("127.0.0.1:{closed}")), "{err}");
    Ok(())
}
