//! Vendor variants of the guest (built with the adapter's vendor features): the request
//! shapes each sends, against a scripted peer, and the behaviour that applies to PyKMIP.

use anyhow::Result;
use component_keyring_kmip::config::GuestModule;

use component_keyring_kmip::sandbox::{GuestError, GuestSettings, Sandbox, SandboxError};
use component_keyring_kmip::{Keyring, MemoryLog, Runtime};
use kmip_keyring_tests::peer::ScriptedPeer;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::ttlv::*;
use kmip_keyring_tests::workspace_root;
use std::sync::Arc;

fn variant(vendor: &str) -> GuestModule {
    let path = workspace_root().join(format!(
        "target/wasm32-wasip2/release/kmip_keyring_guest_{vendor}.wasm"
    ));
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-guest.sh", path.display()));
    let sha256 = kmip_keyring_tests::sha256_hex(&bytes);
    GuestModule { path, sha256 }
}

fn sandbox(vendor: &str, peer: &ScriptedPeer) -> Sandbox {
    let runtime = Runtime::from_module(&variant(vendor)).expect("variant compiles");
    let settings = GuestSettings {
        object_group: None,
        locate_page_size: 100,
        fetch_batch_size: 10,
    };
    Sandbox::new(
        runtime,
        Arc::new(peer.clone()),
        MemoryLog::shared(),
        settings,
        Default::default(),
    )
}

fn invalid(result: Result<impl std::fmt::Debug, SandboxError>) -> String {
    match result {
        Err(SandboxError::Guest(GuestError::InvalidArgument(m))) => m,
        other => panic!("expected invalid-argument, got {other:?}"),
    }
}

fn ids(ids: &[&str]) -> Vec<Item> {
    ids.iter()
        .map(|i| text(tag::UNIQUE_IDENTIFIER, i))
        .collect()
}

#[test]
fn vault_refuses_secrets_before_sending_anything_and_loads_symmetric_keys_only() {
    let peer = ScriptedPeer::new(1);
    let mut sb = sandbox("vault", &peer);
    let message = invalid(sb.store("udf", "u@h", "SECRET", b"s"));
    assert!(
        message.contains("HashiCorp Vault") && message.contains("Secret Data"),
        "{message}"
    );
    assert!(peer.requests().is_empty());
    peer.respond(discover_versions_response(&[(1, 4)]));
    peer.respond(response(1, 4, vec![success(op::LOCATE, None, vec![])]));
    assert!(sb.load_all().unwrap().is_empty());
    let locates: Vec<u32> = peer.requests()[1..]
        .iter()
        .map(|r| {
            let (_, payload) = &request_items(r).unwrap()[0];
            attributes(payload)
                .iter()
                .find(|(n, _)| n == "Object Type")
                .unwrap()
                .1
                .enumeration()
                .unwrap()
        })
        .collect();
    assert_eq!(locates, vec![2], "only Symmetric Keys are located");
}

#[test]
fn fortanix_looks_a_name_up_before_registering() {
    let peer = ScriptedPeer::new(1);
    let mut sb = sandbox("fortanix", &peer);
    peer.respond(discover_versions_response(&[(1, 4)]));
    peer.respond(response(1, 4, vec![success(op::LOCATE, None, vec![])]));
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, ids(&["7"]))],
    ));
    peer.respond(response(
        1,
        4,
        vec![success(op::ACTIVATE, None, ids(&["7"]))],
    ));
    assert_eq!(sb.store("k", "", "AES", &[1; 16]).unwrap(), "7");
    let (op, locate) = &request_items(&peer.requests()[1]).unwrap()[0];
    assert_eq!(*op, op::LOCATE);
    let filters = attributes(locate);
    let name = &filters
        .iter()
        .find(|(n, _)| n == "Name")
        .expect("Locate by Name")
        .1;
    assert_eq!(name.child(tag::NAME_VALUE).unwrap().text(), Some("k"));

    // Readable key material: Fortanix refuses to export a key registered without Export.
    let (_, register) = &request_items(&peer.requests()[2]).unwrap()[0];
    let mask = attributes(register.child(tag::TEMPLATE_ATTRIBUTE).unwrap())
        .into_iter()
        .find(|(n, _)| n == "Cryptographic Usage Mask")
        .map(|(_, v)| v.integer());
    assert_eq!(
        mask,
        Some(Some(0x04 | 0x08 | 0x40)),
        "Encrypt | Decrypt | Export"
    );

    // The Name exists on a live object: the keyring says so and does not Register.
    peer.respond(response(1, 4, vec![success(op::LOCATE, None, ids(&["7"]))]));
    let mut state = ids(&["7"]);
    state.push(state_attribute(state::ACTIVE));
    peer.respond(response(
        1,
        4,
        vec![success(op::GET_ATTRIBUTES, None, state)],
    ));
    let message = invalid(sb.store("k", "other@host", "AES", &[2; 16]));
    assert!(
        message.contains("Fortanix DSM requires unique object names")
            && message.contains("object 7"),
        "{message}"
    );
    let ops: Vec<u32> = peer
        .requests()
        .iter()
        .map(|r| request_items(r).unwrap()[0].0)
        .collect();
    assert_eq!(
        ops,
        vec![
            op::DISCOVER_VERSIONS,
            op::LOCATE,
            op::REGISTER,
            op::ACTIVATE,
            op::LOCATE,
            op::GET_ATTRIBUTES
        ]
    );
}

#[test]
fn ciphertrust_and_pykmip_variants_behave_like_the_generic_guest() {
    for vendor in ["ciphertrust", "pykmip"] {
        let peer = ScriptedPeer::new(1);
        let mut sb = sandbox(vendor, &peer);
        peer.respond(discover_versions_response(&[(1, 4)]));
        peer.respond(response(
            1,
            4,
            vec![success(op::REGISTER, None, ids(&["1"]))],
        ));
        peer.respond(response(
            1,
            4,
            vec![success(op::ACTIVATE, None, ids(&["1"]))],
        ));
        sb.store("s", "", "SECRET", b"x").unwrap();
        let ops: Vec<u32> = peer
            .requests()
            .iter()
            .map(|r| request_items(r).unwrap()[0].0)
            .collect();
        assert_eq!(
            ops,
            vec![op::DISCOVER_VERSIONS, op::REGISTER, op::ACTIVATE],
            "{vendor}"
        );
    }
}

#[test]
fn variants_against_pykmip() -> Result<()> {
    let server = PyKmip::start()?;
    let load = |vendor: &str| -> Result<Keyring> {
        Ok(Keyring::load(
            server.config(Some("vendors"))?,
            Runtime::from_module(&variant(vendor))?,
            MemoryLog::shared(),
        )?)
    };
    let fortanix = load("fortanix")?;
    fortanix.store("shared", "alice@localhost", "AES", &[1; 32])?;
    let err = fortanix
        .store("shared", "bob@localhost", "AES", &[2; 32])
        .unwrap_err()
        .to_string();
    assert!(err.contains("requires unique object names"), "{err}");
    let vault = load("vault")?;
    assert_eq!(vault.len(), 1);
    let err = vault
        .store("secret", "", "SECRET", b"nope")
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not store KMIP Secret Data"), "{err}");
    vault.generate("INNODBKey-v-1", "", "AES", 32)?;
    let generic = load("pykmip")?;
    assert_eq!(generic.len(), 2);
    Ok(())
}
