//! The built component_keyring_kmip.so, loaded the way mysqld loads it (manifest, dlopen,
//! registry, init, binding, load) and driven with the server's calling patterns, against a
//! real PyKMIP server.

use anyhow::{Context, Result};
use kmip_keyring_tests::install::Install;
use kmip_keyring_tests::loader::{registry, LoadedComponent};
use kmip_keyring_tests::pykmip::PyKmip;
use std::process::Command;
use std::sync::Mutex;

/// The component and the registry are per process: scenarios take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(install: &Install) -> Result<LoadedComponent> {
    let (component, loaded) =
        LoadedComponent::start(&install.mysqld, &install.plugin_dir, &install.data_dir)?;
    anyhow::ensure!(loaded, "load failed: {:?}", registry::log_lines());
    Ok(component)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_service_answers_with_mysqls_semantics() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some("loader-group"))?;
    let c = start(&install)?;

    let mut provided = c.provided().to_vec();
    provided.sort();
    assert_eq!(
        provided,
        [
            "keyring_aes",
            "keyring_component_metadata_query",
            "keyring_component_status",
            "keyring_generator",
            "keyring_keys_metadata_iterator",
            "keyring_load",
            "keyring_reader_with_status",
            "keyring_writer",
        ]
        .map(|s| format!("{s}.component_keyring_kmip"))
    );
    assert_eq!(c.name, "component_keyring_kmip");
    assert!(c
        .metadata
        .iter()
        .any(|(k, v)| k == "mysql.license" && v == "GPL"));
    assert!(c.is_initialized());

    // InnoDB master key rotation: generate with a NULL auth_id, then read it back.
    let master = "INNODBKey-4b9c7a5e-1111-2222-3333-444455556666-1";
    assert!(c.generate(master, None, "AES", 32));
    let (key, ty) = c
        .read_secret(master, None)
        .unwrap()
        .expect("generated key present");
    assert_eq!((key.len(), ty.as_str()), (32, "AES"));
    assert_eq!(
        c.read_secret(master, Some("")).unwrap().unwrap().0,
        key,
        "NULL auth_id = empty"
    );
    assert!(
        !c.generate(master, None, "AES", 32),
        "generate of an existing id fails"
    );

    // keyring_udf: a SECRET with an owner; other owners do not see it.
    let secret = b"\x00udf\x00secret\xff".to_vec();
    assert!(c.store("udf_key", Some("alice@localhost"), &secret, "SECRET"));
    assert_eq!(
        c.read_secret("udf_key", Some("alice@localhost")).unwrap(),
        Some((secret.clone(), "SECRET".into()))
    );
    assert_eq!(
        c.read_secret("udf_key", Some("bob@localhost")).unwrap(),
        None
    );
    assert_eq!(c.read_secret("udf_key", None).unwrap(), None);
    assert!(
        !c.store("udf_key", Some("alice@localhost"), b"again", "SECRET"),
        "duplicate store fails"
    );
    assert!(
        !c.store("rsa_key", None, &[1; 32], "RSA"),
        "unsupported type fails"
    );

    // Absent keys and buffer rules.
    assert_eq!(c.read_secret("absent", None).unwrap(), None);
    assert!(
        c.fetch_with(master, None, -1, 0).is_err(),
        "data buffer one byte short"
    );
    assert!(
        c.fetch_with(master, None, 0, -1).is_err(),
        "type buffer one byte short"
    );
    assert!(
        c.fetch_with(master, None, 5, 3).unwrap().is_some(),
        "larger buffers are fine"
    );

    // Iterators: keys without the NUL, metadata with it.
    let mut keys = c.keys()?;
    keys.sort();
    assert_eq!(
        keys,
        vec![
            (master.to_owned(), String::new()),
            ("udf_key".to_owned(), "alice@localhost".to_owned())
        ]
    );
    let (valid, past_end, exact_buffer) = c.keys_edge_cases();
    assert!(valid);
    assert_ne!(past_end, 0, "next past the end fails");
    assert_ne!(exact_buffer, 0, "get needs room for the NUL");
    let rows = c.status_rows()?;
    let names: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names[..12],
        [
            "Component_name",
            "Author",
            "License",
            "Implementation_name",
            "Version",
            "Component_status",
            "Server_addr",
            "Server_port",
            "Client_ca",
            "Client_key",
            "Server_ca",
            "Object_group",
        ]
    );
    let row = |n: &str| {
        rows.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // Percona 8.4 / 9.x's order: Max_objects between Object_group and Kmip_timeout_ms.
    assert_eq!(
        names[12..16],
        [
            "Max_objects",
            "Kmip_timeout_ms",
            "Tls_peer_verification",
            "Tls_host_verification"
        ]
    );
    assert_eq!(row("Max_objects"), "65535");
    assert_eq!(row("Tls_peer_verification"), "true");
    assert_eq!(row("Tls_host_verification"), "true");
    assert_eq!(row("Component_status"), "Active");
    assert_eq!(row("Server_port"), server.port.to_string());
    assert_eq!(row("Object_group"), "loader-group");
    assert_eq!(row("Kmip_protocol_version"), "1.4");
    assert_eq!(
        row("Kmip_server_in_use"),
        format!("127.0.0.1:{}", server.port)
    );
    assert_eq!(row("Guest_sha256").len(), 64);

    // Removal, then absence; removing an absent key fails as in MySQL's reference.
    assert!(c.remove("udf_key", Some("alice@localhost")));
    assert_eq!(
        c.read_secret("udf_key", Some("alice@localhost")).unwrap(),
        None
    );
    assert!(!c.remove("udf_key", Some("alice@localhost")));

    // No key byte in the error log.
    for (_, line) in registry::log_lines() {
        assert!(
            !line.contains(&hex(&key)) && !line.contains(&hex(&secret)),
            "key bytes logged: {line}"
        );
    }
    assert!(registry::log_lines()
        .iter()
        .any(|(sev, l)| *sev == 0 && l.contains("Keyring component initialized successfully.")));
    c.shutdown()?;
    assert_eq!(
        registry::references("mysql_simple_error_log.mysql_server"),
        0,
        "log service released"
    );
    Ok(())
}

fn openssl(
    mode: &str,
    key: &[u8],
    iv: &[u8],
    padding: bool,
    decrypt: bool,
    input: &[u8],
) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut cmd = Command::new("openssl");
    // OpenSSL calls full-block CFB plain "cfb".
    let cipher = if mode == "cfb128" { "cfb" } else { mode };
    cmd.args([
        "enc",
        &format!("-aes-256-{cipher}"),
        "-K",
        &hex(key),
        "-iv",
        &hex(iv),
        "-nosalt",
    ]);
    if !padding {
        cmd.arg("-nopad");
    }
    if decrypt {
        cmd.arg("-d");
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(input)?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(out.status.success(), "openssl {mode} failed");
    Ok(out.stdout)
}

fn sha256(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(data)?;
    Ok(child.wait_with_output()?.stdout)
}

#[test]
fn aes_in_every_mode_matches_openssl() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let c = start(&install)?;
    let stored: Vec<u8> = (0..32).map(|i| i * 7 + 3).collect();
    assert!(c.store("aes_key", Some("app@%"), &stored, "AES"));
    assert!(c.store("secret_key", None, b"not an aes key", "SECRET"));
    let key = sha256(&stored)?;
    let iv: [u8; 16] = *b"0123456789abcdef";
    for len in [0usize, 1, 15, 16, 17, 100] {
        let plain: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
        for (mode, padding) in [
            ("cbc", true),
            ("cbc", false),
            ("cfb1", true),
            ("cfb1", false),
            ("cfb8", true),
            ("cfb8", false),
            ("cfb128", true),
            ("cfb128", false),
            ("ofb", true),
            ("ofb", false),
        ] {
            if mode == "cbc" && !padding && len % 16 != 0 {
                let size = c.aes_size(len, mode, 256).unwrap();
                assert!(c
                    .aes(
                        true,
                        "aes_key",
                        Some("app@%"),
                        mode,
                        256,
                        &iv,
                        false,
                        &plain,
                        size
                    )
                    .is_none());
                continue;
            }
            let size = c.aes_size(len, mode, 256).context("get_size")?;
            let sealed = c
                .aes(
                    true,
                    "aes_key",
                    Some("app@%"),
                    mode,
                    256,
                    &iv,
                    padding,
                    &plain,
                    size,
                )
                .with_context(|| format!("encrypt {mode} {len}"))?;
            assert_eq!(
                sealed,
                openssl(mode, &key, &iv, padding, false, &plain)?,
                "{mode} padding={padding} len={len}"
            );
            let opened = c
                .aes(
                    false,
                    "aes_key",
                    Some("app@%"),
                    mode,
                    256,
                    &iv,
                    padding,
                    &sealed,
                    sealed.len(),
                )
                .with_context(|| format!("decrypt {mode} {len}"))?;
            assert_eq!(
                opened, plain,
                "{mode} padding={padding} round trip len={len}"
            );
            // Decryption on its own, not only as the inverse of our encryption: OpenSSL
            // opens what we sealed, and we open what OpenSSL sealed with a different IV.
            assert_eq!(
                openssl(mode, &key, &iv, padding, true, &sealed)?,
                plain,
                "openssl opens our {mode} padding={padding} len={len}"
            );
            let other_iv: [u8; 16] = *b"fedcba9876543210";
            let theirs = openssl(mode, &key, &other_iv, padding, false, &plain)?;
            let opened = c
                .aes(
                    false,
                    "aes_key",
                    Some("app@%"),
                    mode,
                    256,
                    &other_iv,
                    padding,
                    &theirs,
                    theirs.len(),
                )
                .with_context(|| format!("decrypt openssl's {mode} {len}"))?;
            assert_eq!(
                opened, plain,
                "we open openssl's {mode} padding={padding} len={len}"
            );
        }
    }
    assert_eq!(c.aes_size(17, "cbc", 256), Some(32));
    assert_eq!(c.aes_size(17, "ofb", 256), Some(17));
    assert_eq!(
        c.aes_size(17, "CBC", 256),
        None,
        "mode names are lower case"
    );
    assert_eq!(c.aes_size(17, "cbc", 128), None, "block size is 256");
    assert!(
        c.aes(
            true,
            "aes_key",
            Some("app@%"),
            "cbc",
            256,
            &iv,
            true,
            b"x",
            15
        )
        .is_none(),
        "short output"
    );
    assert!(
        c.aes(true, "secret_key", None, "cbc", 256, &iv, true, b"x", 16)
            .is_none(),
        "not an AES key"
    );
    assert!(
        c.aes(true, "absent", None, "cbc", 256, &iv, true, b"x", 16)
            .is_none(),
        "absent key"
    );
    c.shutdown()
}

#[test]
fn reload_keeps_the_old_state_on_failure_and_sees_new_keys_on_success() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let c = start(&install)?;
    assert!(c.store("before", None, &[5u8; 16], "AES"));
    let good = std::fs::read_to_string(install.data_dir.join("component_keyring_kmip.cnf"))?;

    // A broken configuration: the load fails, naming file and field; the old keys serve.
    let mut broken: serde_json::Value = serde_json::from_str(&good)?;
    broken["server_port"] = 5696.into();
    install.write_config(&broken.to_string())?;
    assert!(!c.keyring_load(
        &install.plugin_dir.display().to_string(),
        &install.data_dir.display().to_string()
    ));
    let logged = registry::log_lines();
    let error = logged
        .iter()
        .rev()
        .find(|(sev, _)| *sev == 1)
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    assert!(
        error.contains("component_keyring_kmip.cnf") && error.contains("\"server_port\""),
        "{error}"
    );
    assert!(error.contains("previous keyring stays in use"), "{error}");
    assert!(c.is_initialized());
    assert_eq!(
        c.read_secret("before", None).unwrap().unwrap().0,
        vec![5u8; 16]
    );

    // Unreadable certificate: named with its field.
    let mut bad_cert = serde_json::from_str::<serde_json::Value>(&good)?;
    bad_cert["client_key"] = install.path("missing-key.pem").display().to_string().into();
    install.write_config(&bad_cert.to_string())?;
    assert!(!c.keyring_load(
        &install.plugin_dir.display().to_string(),
        &install.data_dir.display().to_string()
    ));
    let error = registry::log_lines()
        .iter()
        .rev()
        .find(|(s, _)| *s == 1)
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    assert!(
        error.contains("client_key") && error.contains("missing-key.pem"),
        "{error}"
    );

    // Another client registers a key; a good reload (paths without the trailing '/', as
    // mysql_migrate_keyring passes them) picks it up.
    install.write_config(&good)?;
    let theirs = "00112233445566778899aabbccddeeff";
    server.witness(&["register-aes", "registered_elsewhere", theirs])?;
    assert!(c.keyring_load(
        &install.plugin_dir.display().to_string(),
        &install.data_dir.display().to_string()
    ));
    assert_eq!(
        hex(&c
            .read_secret("registered_elsewhere", None)
            .unwrap()
            .unwrap()
            .0),
        theirs
    );
    assert!(c.read_secret("before", None).unwrap().is_some());
    c.shutdown()
}

#[test]
fn a_fresh_process_finds_every_key_and_owner_and_threads_read_concurrently() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some("restart"))?;
    let c = start(&install)?;
    let owners = [None, Some("alice@localhost"), Some("bob@%")];
    for (i, owner) in owners.iter().enumerate() {
        assert!(c.generate(&format!("gen{i}"), *owner, "AES", 32));
        assert!(c.store(
            &format!("sec{i}"),
            *owner,
            format!("secret number {i}").as_bytes(),
            "SECRET"
        ));
    }
    let mut expected: Vec<(String, String, String, String)> = Vec::new();
    for (data_id, auth_id) in c.keys()? {
        let owner = (!auth_id.is_empty()).then_some(auth_id.as_str());
        let (data, ty) = c.read_secret(&data_id, owner).unwrap().unwrap();
        expected.push((data_id, auth_id, ty, hex(&data)));
    }
    expected.sort();
    assert_eq!(expected.len(), 6);

    // Eight threads read concurrently, as many sessions do.
    std::thread::scope(|s| {
        for t in 0..8 {
            let (c, expected) = (&c, &expected);
            s.spawn(move || {
                for round in 0..300 {
                    let (data_id, auth_id, ty, data) = &expected[(t + round) % expected.len()];
                    let owner = (!auth_id.is_empty()).then_some(auth_id.as_str());
                    let (got, got_ty) = c.read_secret(data_id, owner).unwrap().unwrap();
                    assert_eq!((&hex(&got), &got_ty), (data, ty));
                }
            });
        }
    });
    c.shutdown()?;

    // A new process (a restarted mysqld) finds the same keys, types and owners.
    let probe = std::env::current_exe()?
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("loader_probe");
    let out = Command::new(probe)
        .arg(&install.mysqld)
        .arg(&install.plugin_dir)
        .arg(&install.data_dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = kmip_keyring_tests::loader::probed_keys(&out.stdout)?;
    assert_eq!(found, expected);
    Ok(())
}

#[test]
fn the_local_manifest_pair_is_followed() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    std::fs::write(
        install.path("bin/mysqld.my"),
        r#"{"read_local_manifest": true}"#,
    )?;
    std::fs::write(
        install.data_dir.join("mysqld.my"),
        r#"{"components": "file://component_keyring_kmip"}"#,
    )?;
    let c = start(&install)?;
    assert!(c.is_initialized());
    c.shutdown()
}

#[test]
fn a_vendor_variant_is_swapped_in_by_configuration() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let vault = kmip_keyring_tests::workspace_root()
        .join("target/wasm32-wasip2/release/kmip_keyring_guest_vault.wasm");
    let sha = install.use_guest(&vault, None)?;
    let c = start(&install)?;
    let rows = c.status_rows()?;
    let row = |n: &str| {
        rows.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(row("Guest_module"), vault.display().to_string());
    assert_eq!(row("Guest_sha256"), sha);
    assert!(c.store("aes", None, &[1; 32], "AES"));
    assert!(!c.store("secret", None, b"x", "SECRET"));
    assert!(
        registry::log_lines()
            .iter()
            .any(|(_, l)| l.contains("HashiCorp Vault") && l.contains("Secret Data")),
        "{:?}",
        registry::log_lines()
    );
    c.shutdown()
}

#[test]
fn a_trapping_guest_fails_the_c_abi_call_and_keeps_the_cache() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let hostile = kmip_keyring_tests::workspace_root()
        .join("target/wasm32-wasip2/release/kmip_keyring_hostile_guest.wasm");
    install.use_guest(&hostile, Some("hostile=div0;abi"))?;
    let c = start(&install)?;
    assert!(c.store("kept", None, &[6; 16], "AES"));
    assert!(
        !c.generate("INNODBKey-t-1", None, "AES", 32),
        "the trap fails the call"
    );
    assert_eq!(
        c.read_secret("kept", None).unwrap().unwrap().0,
        vec![6; 16],
        "the cache is intact"
    );
    assert!(
        c.store("after", None, &[7; 16], "AES"),
        "the next call runs on a fresh instance"
    );
    assert!(registry::log_lines()
        .iter()
        .any(|(s, l)| *s == 1 && l.contains("divide by zero")));
    c.shutdown()
}

#[test]
fn deinit_takes_no_registry_lock_with_or_without_the_lock_free_registry() -> Result<()> {
    use kmip_keyring_tests::loader::{set_registry_form, RegistryForm};
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, None)?;
    let log_service = "mysql_simple_error_log.mysql_server";

    // MySQL 9.7: the error log and the lock-free registry are released through the latter.
    set_registry_form(RegistryForm::WithNoLock);
    let before = registry::locked_calls_under_write_lock();
    let c = start(&install)?;
    let guest_line = registry::log_lines()
        .into_iter()
        .map(|(_, l)| l)
        .rfind(|l| l.starts_with("keyring guest: embedded"))
        .expect("the load names its guest");
    assert!(
        guest_line.ends_with("precompiled at build time"),
        "the default path deserializes the build's artifact: {guest_line}"
    );
    assert_eq!(registry::references(log_service), 1, "acquired by load");
    assert_eq!(registry::references(registry::NO_LOCK_REGISTRY), 1);
    c.shutdown()?;
    assert_eq!(
        registry::locked_calls_under_write_lock(),
        before,
        "deinit called the locking registry while mysqld held its write lock"
    );
    assert_eq!(registry::references(log_service), 0, "released in deinit");
    assert_eq!(registry::references(registry::NO_LOCK_REGISTRY), 0);

    // A server without it: the reference is left for the server's shutdown, and still no
    // locking call is made under the write lock.
    set_registry_form(RegistryForm::LockingOnly);
    let c = start(&install);
    let result = c.and_then(|c| c.shutdown());
    let leftover = registry::references(log_service);
    let locked_calls = registry::locked_calls_under_write_lock();
    set_registry_form(RegistryForm::WithNoLock);
    // The kept reference is the server's to drop at its own shutdown; drop it here so the
    // next scenario starts from zero.
    if leftover == 1 {
        let p = registry::acquire(log_service).expect("registered");
        registry::release(p);
        registry::release(p);
    }
    result?;
    assert_eq!(locked_calls, before);
    assert_eq!(
        leftover, 1,
        "kept, not released through the locking registry"
    );
    Ok(())
}

#[test]
fn a_refused_call_writes_nothing_of_the_callers() -> Result<()> {
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some("probes"))?;
    let c = start(&install)?;
    assert!(c.store("probe-key", None, &[9; 32], "AES"));
    let p = c.abi_probes("probe-key");
    for (name, (status, wrote)) in [
        (
            "fetch_length, NULL type size",
            p.fetch_length_null_type_size,
        ),
        ("fetch, NULL data size", p.fetch_null_data_size),
        ("keys get_length, NULL", p.keys_get_length_null),
        (
            "keys get, second buffer too small",
            p.keys_get_second_too_small,
        ),
        (
            "metadata get, second buffer too small",
            p.metadata_get_second_too_small,
        ),
        ("aes get_size, usize::MAX bytes", p.aes_get_size_overflow),
        ("aes encrypt, NULL written", p.aes_encrypt_null_written),
    ] {
        assert_ne!(status, 0, "{name}: refused");
        assert!(!wrote, "{name}: nothing written");
    }
    c.shutdown()
}

#[test]
fn directories_whose_names_are_not_utf8_load_and_loads_racing_acquire_the_log_once() -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let _turn = serial();
    let server = PyKmip::start()?;
    let install = Install::new(&server, Some("bytes"))?;
    // A data dir named with a byte that is not UTF-8 (Unix paths are bytes).
    let name = std::ffi::OsStr::from_bytes(b"data-\xff\xfe");
    let odd = install.root.path().join(name);
    std::fs::create_dir(&odd)?;
    std::fs::copy(
        install.data_dir.join("component_keyring_kmip.cnf"),
        odd.join("component_keyring_kmip.cnf"),
    )?;
    let c = LoadedComponent::load_library(&install.plugin_dir.join("component_keyring_kmip.so"))?;
    let plugin = format!("{}/", install.plugin_dir.display()).into_bytes();
    let mut data = odd.as_os_str().as_bytes().to_vec();
    data.push(b'/');
    // Two loads at once, the first of the process: the error log is acquired once.
    let (a, b) = std::thread::scope(|s| {
        let first = s.spawn(|| c.keyring_load_bytes(&plugin, &data));
        let second = s.spawn(|| c.keyring_load_bytes(&plugin, &data));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert!(a && b, "{:?}", registry::log_lines());
    assert!(c.is_initialized());
    assert_eq!(
        registry::references("mysql_simple_error_log.mysql_server"),
        1
    );
    c.shutdown()?;
    assert_eq!(
        registry::references("mysql_simple_error_log.mysql_server"),
        0
    );
    Ok(())
}
