//! The keyring through the wasm sandbox against both real KMIP servers, PyKMIP and Cosmian
//! KMS, over mutual TLS, with PyKMIP's own client as the independent witness of what is on
//! the server.

use anyhow::Result;
use component_keyring_kmip::{Keyring, KeyringError, LogSink, MemoryLog};
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;
use kmip_keyring_tests::servers::{each, TestServer};
use std::sync::Arc;

fn load(server: &dyn TestServer, group: Option<&str>) -> Result<(Keyring, Arc<MemoryLog>)> {
    let log = MemoryLog::shared();
    let keyring = Keyring::load(
        server.config(group)?,
        runtime(),
        log.clone() as Arc<dyn LogSink>,
    )?;
    Ok((keyring, log))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn generate_aes_32_then_fetch_from_the_cache() -> Result<()> {
    each(
        "keyring_servers::generate_aes_32_then_fetch_from_the_cache",
        |server| {
            let (keyring, _) = load(server, None)?;
            assert!(keyring.is_empty());
            keyring.generate("INNODBKey-3c4a-1", "", "AES", 32)?;
            let key = keyring
                .fetch("INNODBKey-3c4a-1", "")
                .expect("generated key is cached");
            assert_eq!(key.key_type, "AES");
            assert_eq!(key.data.len(), 32);
            assert_ne!(*key.data, vec![0u8; 32], "generated key material is random");

            // The server holds the same bytes, as seen by PyKMIP's own client.
            let seen = server.witness(&["get", &key.object_id])?;
            assert_eq!(seen[0]["value_hex"], hex(&key.data));
            assert_eq!(seen[0]["state"], "ACTIVE");
            Ok(())
        },
    )
}

#[test]
fn every_size_and_type_round_trips_and_persists() -> Result<()> {
    each(
        "keyring_servers::every_size_and_type_round_trips_and_persists",
        |server| {
            let (keyring, log) = load(server, Some("test-object-group"))?;
            let aes16: Vec<u8> = (0..16).collect();
            let aes24: Vec<u8> = (100..124).collect();
            let aes32: Vec<u8> = (200..232).collect();
            let secret = b"\x00pass\x00word\x00\xff".to_vec();
            keyring.store("aes16", "", "AES", &aes16)?;
            keyring.store("aes24", "", "aes", &aes24)?;
            keyring.store("aes32", "root@localhost", "AES", &aes32)?;
            keyring.store("secret", "app@%", "SECRET", &secret)?;
            for (id, owner, data, ty) in [
                ("aes16", "", &aes16, "AES"),
                ("aes24", "", &aes24, "AES"),
                ("aes32", "root@localhost", &aes32, "AES"),
                ("secret", "app@%", &secret, "SECRET"),
            ] {
                let key = keyring
                    .fetch(id, owner)
                    .unwrap_or_else(|| panic!("{id} cached"));
                assert_eq!(*key.data, *data, "{id}");
                assert_eq!(key.key_type, ty, "{id}");
            }
            assert!(
                keyring.fetch("aes32", "").is_none(),
                "owner is part of the identity"
            );

            // A second keyring loaded from the same server sees every key, with its owner.
            let (second, _) = load(server, Some("test-object-group"))?;
            assert_eq!(second.key_ids(), keyring.key_ids());
            for id in keyring.key_ids() {
                let a = keyring.fetch(&id.data_id, &id.auth_id).unwrap();
                let b = second.fetch(&id.data_id, &id.auth_id).unwrap();
                assert_eq!(a.data, b.data, "{id}");
                assert_eq!(a.key_type, b.key_type, "{id}");
                assert_eq!(a.object_id, b.object_id, "{id}");
            }

            // The independent witness: what Percona's component would find on the server.
            let aes = keyring.fetch("aes32", "root@localhost").unwrap();
            let sec = keyring.fetch("secret", "app@%").unwrap();
            let plain = keyring.fetch("aes16", "").unwrap();
            let seen =
                server.witness(&["get", &aes.object_id, &sec.object_id, &plain.object_id])?;
            assert_eq!(seen[0]["object_type"], "SYMMETRIC_KEY");
            assert_eq!(seen[0]["algorithm"], "AES");
            assert_eq!(seen[0]["length"], 256);
            assert_eq!(seen[0]["state"], "ACTIVE");
            assert_eq!(seen[0]["names"], serde_json::json!(["aes32"]));
            assert_eq!(
                seen[0]["object_groups"],
                serde_json::json!(["test-object-group"])
            );
            assert_eq!(seen[0]["value_hex"], hex(&aes32));
            assert_eq!(
                seen[0]["application_specific_information"],
                serde_json::json!([["mysql-keyring-auth-id", "root@localhost"]])
            );
            assert_eq!(seen[1]["object_type"], "SECRET_DATA");
            assert_eq!(seen[1]["secret_data_type"], "PASSWORD");
            assert_eq!(seen[1]["state"], "ACTIVE");
            assert_eq!(seen[1]["names"], serde_json::json!(["secret"]));
            assert_eq!(seen[1]["value_hex"], hex(&secret));
            assert_eq!(seen[2]["names"], serde_json::json!(["aes16"]));
            assert_eq!(
                seen[2]["application_specific_information"],
                serde_json::json!([])
            );

            // No key byte reached the log.
            for (_, line) in log.lines() {
                for key in [&aes16, &aes24, &aes32] {
                    assert!(!line.contains(&hex(key)), "key bytes in log line: {line}");
                }
            }
            Ok(())
        },
    )
}

#[test]
fn remove_makes_a_key_absent_here_and_after_reload() -> Result<()> {
    each(
        "keyring_servers::remove_makes_a_key_absent_here_and_after_reload",
        |server| {
            let (keyring, _) = load(server, None)?;
            keyring.store("doomed", "", "AES", &[7u8; 32])?;
            keyring.store("kept", "", "SECRET", b"s3cret")?;
            let doomed = keyring.fetch("doomed", "").unwrap().object_id.clone();
            keyring.remove("doomed", "")?;
            assert!(keyring.fetch("doomed", "").is_none());
            assert!(matches!(
                keyring.remove("doomed", ""),
                Err(KeyringError::NotFound(_))
            ));
            let (reloaded, _) = load(server, None)?;
            assert!(reloaded.fetch("doomed", "").is_none());
            assert!(reloaded.fetch("kept", "").is_some());
            assert!(
                server.witness(&["get", &doomed]).is_err(),
                "object destroyed on the server"
            );
            Ok(())
        },
    )
}

#[test]
fn object_groups_keep_keyrings_apart() -> Result<()> {
    each(
        "keyring_servers::object_groups_keep_keyrings_apart",
        |server| {
            let (red, _) = load(server, Some("red"))?;
            let (blue, _) = load(server, Some("blue"))?;
            red.store("shared-name", "", "AES", &[1u8; 16])?;
            blue.store("shared-name", "", "AES", &[2u8; 16])?;
            blue.store("blue-only", "", "SECRET", b"b")?;
            let (red_again, _) = load(server, Some("red"))?;
            let (blue_again, _) = load(server, Some("blue"))?;
            assert_eq!(
                *red_again.fetch("shared-name", "").unwrap().data,
                vec![1u8; 16]
            );
            assert_eq!(
                *blue_again.fetch("shared-name", "").unwrap().data,
                vec![2u8; 16]
            );
            assert!(red_again.fetch("blue-only", "").is_none());
            assert_eq!(red_again.len(), 1);
            assert_eq!(blue_again.len(), 2);
            Ok(())
        },
    )
}

#[test]
fn bad_requests_fail_cleanly_and_change_nothing() -> Result<()> {
    each(
        "keyring_servers::bad_requests_fail_cleanly_and_change_nothing",
        |server| {
            let (keyring, _) = load(server, None)?;
            keyring.store("k", "", "AES", &[9u8; 32])?;
            let dup = keyring.store("k", "", "AES", &[8u8; 32]).unwrap_err();
            assert!(matches!(dup, KeyringError::AlreadyExists(_)), "{dup}");
            let dup = keyring.generate("k", "", "AES", 32).unwrap_err();
            assert!(matches!(dup, KeyringError::AlreadyExists(_)), "{dup}");
            let unknown = keyring
                .store("rsa", "", "RSA", &[1u8; 32])
                .unwrap_err()
                .to_string();
            assert!(
                unknown.contains("key type 'RSA' is not supported"),
                "{unknown}"
            );
            let bad_len = keyring
                .store("short", "", "AES", &[1u8; 10])
                .unwrap_err()
                .to_string();
            assert!(bad_len.contains("16, 24 or 32 bytes, not 10"), "{bad_len}");
            let empty = keyring
                .store("", "", "AES", &[1u8; 16])
                .unwrap_err()
                .to_string();
            assert!(empty.contains("data_id must not be empty"), "{empty}");
            assert_eq!(*keyring.fetch("k", "").unwrap().data, vec![9u8; 32]);
            let (reloaded, _) = load(server, None)?;
            assert_eq!(reloaded.key_ids(), keyring.key_ids());
            Ok(())
        },
    )
}

#[test]
fn connection_problems_are_clear_errors() -> Result<()> {
    each(
        "keyring_servers::connection_problems_are_clear_errors",
        |server| {
            let dir = tempfile::tempdir()?;
            let write = |json: serde_json::Value| -> Result<component_keyring_kmip::Config> {
                let path = dir.path().join("component_keyring_kmip.cnf");
                std::fs::write(&path, json.to_string())?;
                Ok(component_keyring_kmip::Config::from_file(&path)?)
            };
            let try_load = |config| match Keyring::load(config, runtime(), MemoryLog::shared()) {
                Ok(_) => panic!("load succeeded"),
                Err(e) => e.to_string(),
            };

            let mut wrong_ca = server.config_json(None);
            wrong_ca["server_ca"] = server.pki().other_ca.to_str().unwrap().into();
            let err = try_load(write(wrong_ca)?);
            assert!(err.contains("TLS failure"), "{err}");
            assert!(
                err.contains("UnknownIssuer") || err.contains("invalid peer certificate"),
                "{err}"
            );

            let mut missing_cert = server.config_json(None);
            missing_cert["client_ca"] = dir.path().join("absent.pem").to_str().unwrap().into();
            let err = try_load(write(missing_cert)?);
            assert!(err.contains("client_ca"), "{err}");
            assert!(err.contains("absent.pem"), "{err}");

            let closed_port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut closed = server.config_json(None);
            closed["server_port"] = closed_port.to_string().into();
            let err = try_load(write(closed)?);
            assert!(err.contains("no KMIP server could be used"), "{err}");
            assert!(
                err.contains(&format!("127.0.0.1:{closed_port}: refused")),
                "{err}"
            );
            Ok(())
        },
    )
}

/// PyKMIP only: its log counts the sessions it accepted.
#[test]
fn one_tls_connection_is_reused_and_reopened_when_it_breaks() -> Result<()> {
    let mut server = PyKmip::start()?;
    let before = server.sessions_started();
    let (keyring, _) = load(&server, None)?;
    keyring.store("a", "", "AES", &[1u8; 16])?;
    keyring.generate("b", "", "AES", 32)?;
    keyring.store("c", "", "SECRET", b"c")?;
    keyring.remove("a", "")?;
    assert_eq!(
        server.sessions_started() - before,
        1,
        "load, three stores and a remove share one connection"
    );

    // The server restarts: the idle connection is dead. The next write notices before
    // sending anything, reconnects, and succeeds.
    server.restart()?;
    keyring.store("d", "", "AES", &[4u8; 24])?;
    let (reloaded, _) = load(&server, None)?;
    let ids: Vec<String> = reloaded
        .key_ids()
        .into_iter()
        .map(|id| id.data_id)
        .collect();
    assert_eq!(ids, ["b", "c", "d"]);
    Ok(())
}
