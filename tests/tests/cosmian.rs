//! Cosmian KMS, a strict second KMIP server, where it differs from PyKMIP: it lists at most
//! 1 000 objects per Locate and ignores Offset Items (a load that trusted its pages found
//! 1 000 of 2 500 keys, silently), it refuses to Get a Deactivated key, and its TLS accepts
//! RSA certificates (PyKMIP's cannot, with rustls: tls_setups.rs). The tests both servers
//! share are in keyring_servers.rs.

use anyhow::{ensure, Result};
use component_keyring_kmip::{Keyring, MemoryLog};
use kmip_keyring_tests::cosmian::Cosmian;
use kmip_keyring_tests::fill::{self, Key};
use kmip_keyring_tests::pki::KeyKind;
use kmip_keyring_tests::runtime;
use kmip_keyring_tests::servers::{cosmian_available, TestServer};

/// What Cosmian KMS 5.28 returns at most for one Locate, whatever Maximum Items asks.
const COSMIAN_LOCATE_CAP: usize = 1000;

/// Key `i`'s material: `len` bytes that differ from every other key's.
fn material(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| (i.wrapping_mul(31) ^ (i >> 8) ^ j.wrapping_mul(7)) as u8)
        .collect()
}

/// `count` keys named `<prefix>-<i>`, of the AES sizes in `sizes` in turn.
fn keys(prefix: &str, count: usize, sizes: &[usize]) -> Vec<Key> {
    (0..count)
        .map(|i| Key {
            name: format!("{prefix}-{i}"),
            material: material(i, sizes[i % sizes.len()]),
        })
        .collect()
}

/// Another client's keys in `group`, registered and activated; their identifiers.
fn fill_group(server: &Cosmian, group: &str, keys: &[Key]) -> Result<Vec<String>> {
    let mut conn = fill::connect(&server.config_json(None), server.dir.path())?;
    fill::fill(&mut conn, Some(group), keys)
}

/// A Cosmian KMS for `test`, or `None` when it cannot run here (recorded as a skip, or a
/// failure where KMIP_REQUIRE_COSMIAN is set).
fn start(test: &str) -> Result<Option<Cosmian>> {
    Ok(if cosmian_available(test)? {
        Some(Cosmian::start()?)
    } else {
        None
    })
}

fn load(server: &Cosmian, group: &str) -> Result<Keyring, component_keyring_kmip::KeyringError> {
    Keyring::load(
        server.config(Some(group)).expect("config"),
        runtime(),
        MemoryLog::shared(),
    )
}

#[test]
fn load_finds_every_one_of_2500_keys_past_the_servers_locate_cap() -> Result<()> {
    let Some(server) =
        start("cosmian::load_finds_every_one_of_2500_keys_past_the_servers_locate_cap")?
    else {
        return Ok(());
    };
    // Mixed AES sizes, as InnoDB's master keys (32) sit beside other keys: 834, 833 and
    // 833 of each, every part under the cap, the whole 2.5 times over it.
    let sizes = [16, 24, 32];
    let keys = keys("INNODBKey-bulk", 2500, &sizes);
    let ids = fill_group(&server, "bulk", &keys)?;

    let keyring = load(&server, "bulk")?;
    assert_eq!(keyring.len(), keys.len(), "every key is loaded");
    for (key, id) in keys.iter().zip(&ids) {
        let cached = keyring
            .fetch(&key.name, "")
            .unwrap_or_else(|| panic!("{} is loaded", key.name));
        assert_eq!(*cached.data, key.material, "{}", key.name);
        assert_eq!(&cached.object_id, id, "{}", key.name);
    }
    Ok(())
}

#[test]
fn more_keys_of_one_kind_than_the_server_lists_refuse_the_load() -> Result<()> {
    let Some(server) =
        start("cosmian::more_keys_of_one_kind_than_the_server_lists_refuse_the_load")?
    else {
        return Ok(());
    };
    // One more than the cap, all Active AES-256: no filter left splits them below it.
    let keys = keys("INNODBKey-over", COSMIAN_LOCATE_CAP + 1, &[32]);
    fill_group(&server, "over", &keys)?;

    let error = load(&server, "over")
        .expect_err("a load that cannot list every key never succeeds with fewer")
        .to_string();
    assert!(
        error.contains("the KMIP server cannot list every key")
            && error.contains(&format!("returned {COSMIAN_LOCATE_CAP} identifiers"))
            && error.contains("Symmetric Keys in object group 'over' in state Active of 256 bits"),
        "{error}"
    );
    Ok(())
}

#[test]
fn twenty_five_thousand_keys_are_never_a_success_with_fewer() -> Result<()> {
    let Some(server) = start("cosmian::twenty_five_thousand_keys_are_never_a_success_with_fewer")?
    else {
        return Ok(());
    };
    // Mixed sizes again, but 8 334 of each: every part the listing can split into is over
    // the cap. Cosmian 5.28 offers no filter that splits further, so the honest outcome
    // is a refused load that says why, never 3 000 keys reported as all of them.
    let sizes = [16, 24, 32];
    let keys = keys("INNODBKey-many", 25_000, &sizes);
    fill_group(&server, "many", &keys)?;

    let error = load(&server, "many")
        .expect_err("a load that cannot list every key never succeeds with fewer")
        .to_string();
    assert!(
        error.contains("the KMIP server cannot list every key")
            && error.contains("in object group 'many' in state Active of"),
        "{error}"
    );
    Ok(())
}

#[test]
fn a_deactivated_key_fails_the_load_naming_it() -> Result<()> {
    let Some(server) = start("cosmian::a_deactivated_key_fails_the_load_naming_it")? else {
        return Ok(());
    };
    let keyring = load(&server, "revoked")?;
    keyring.store("INNODBKey-revoked-1", "", "AES", &[9u8; 32])?;
    keyring.store("INNODBKey-kept-1", "", "AES", &[8u8; 32])?;
    let id = keyring
        .fetch("INNODBKey-revoked-1", "")
        .expect("stored")
        .object_id
        .clone();
    drop(keyring);

    // Another client revokes it: Cosmian keeps it, Deactivated, and refuses its Get. InnoDB
    // may still need it to read what it encrypted, so the load must not go on without it.
    let mut conn = fill::connect(&server.config_json(None), server.dir.path())?;
    fill::exchange(
        &mut conn,
        vec![kmip_keyring_core::kmip::request::revoke(&id)],
    )?;
    drop(conn);

    let error = load(&server, "revoked")
        .expect_err("a key the server will not give fails the load")
        .to_string();
    assert!(
        error.contains(&format!("object {id} ('INNODBKey-revoked-1', Deactivated)"))
            && error.contains("KMIP Get failed on the server"),
        "{error}"
    );
    Ok(())
}

#[test]
fn rsa_and_p521_certificates_work() -> Result<()> {
    if !cosmian_available("cosmian::rsa_and_p521_certificates_work")? {
        return Ok(());
    }
    for kind in [KeyKind::Rsa2048, KeyKind::P521] {
        let server = Cosmian::start_with_keys(kind)?;
        let keyring = load(&server, "tls")?;
        keyring.store("k", "", "AES", &[5u8; 32])?;
        keyring.store("s", "bob@%", "SECRET", b"bob's")?;
        let again = load(&server, "tls")?;
        ensure!(
            again.fetch("k", "").map(|k| k.data.to_vec()) == Some(vec![5u8; 32]),
            "{kind:?}: the AES key is found by a fresh TLS session"
        );
        ensure!(
            again.fetch("s", "bob@%").map(|k| k.data.to_vec()) == Some(b"bob's".to_vec()),
            "{kind:?}: the secret is found by a fresh TLS session"
        );
        let session = again.session();
        ensure!(
            session.protocol_version.as_deref() == Some("1.4"),
            "{kind:?}: KMIP 1.4, the highest version both speak, is negotiated, not {:?}",
            session.protocol_version
        );
    }
    Ok(())
}
