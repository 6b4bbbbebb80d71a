//! Real KMIP servers' quirks, reproduced by the fast peer (tests/src/fast_peer.rs,
//! `Quirks`) and met by the keyring through the sandbox over mutual TLS: pages capped below
//! what was asked, Offset Items ignored, lists that move between pages, objects destroyed
//! between a Locate and its Get, batches stopped at a failed item or batch options refused,
//! activation at Register, odd version lists, KMIP 2 Result Reasons, no Secret Data,
//! Transparent Symmetric Keys, a missing State, several Names, Fortanix's unique names.
//! Each was a silent loss or a failed load before; the load must never report success
//! with fewer keys than the server holds for it.

use anyhow::Result;
use component_keyring_kmip::{Config, Keyring, KeyringError, LogSink, MemoryLog, Runtime};
use kmip_keyring_tests::fast_peer::{
    populated_material, FastPeer, LocatedItems, Populated, Quirks,
};
use kmip_keyring_tests::{runtime, workspace_root};
use std::sync::Arc;

const GROUP: &str = "quirks";

fn config(peer: &FastPeer, page: Option<u32>) -> Config {
    let mut json = peer.config_json();
    json["object_group"] = GROUP.into();
    if let Some(page) = page {
        json["locate_page_size"] = page.into();
    }
    let dir = std::env::temp_dir().join("component_keyring_kmip.cnf");
    Config::from_json(&dir, &json.to_string()).expect("a valid configuration")
}

fn load_with(
    peer: &FastPeer,
    page: Option<u32>,
    guest: Arc<Runtime>,
) -> (Result<Keyring, KeyringError>, Arc<MemoryLog>) {
    let log = MemoryLog::shared();
    let keyring = Keyring::load(config(peer, page), guest, log.clone() as Arc<dyn LogSink>);
    (keyring, log)
}

fn load(peer: &FastPeer, page: Option<u32>) -> (Result<Keyring, KeyringError>, Arc<MemoryLog>) {
    load_with(peer, page, runtime())
}

fn logged(log: &MemoryLog, text: &str) -> bool {
    log.lines().iter().any(|(_, l)| l.contains(text))
}

/// Asserts that the keyring holds exactly keys `<prefix>i` for `i` in `range` with the
/// fast peer's material.
fn assert_all(keyring: &Keyring, prefix: &str, range: std::ops::Range<usize>) {
    assert_eq!(keyring.len(), range.len(), "keys loaded");
    for i in range {
        let key = keyring
            .fetch(&format!("{prefix}{i}"), "")
            .unwrap_or_else(|| panic!("{prefix}{i} is missing"));
        assert_eq!(*key.data, populated_material(i).to_vec(), "{prefix}{i}");
    }
}

fn incomplete(result: Result<Keyring, KeyringError>) -> String {
    match result {
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("cannot list every key"), "{text}");
            text
        }
        Ok(k) => panic!(
            "a load that cannot be complete reported success with {} keys",
            k.len()
        ),
    }
}

#[test]
fn pages_capped_below_what_was_asked_are_followed_to_the_end() -> Result<()> {
    // A server that answers at most 16 identifiers per Locate (Vault, as Percona found).
    let peer = FastPeer::start_with(Quirks {
        locate_cap: Some(16),
        ..Quirks::default()
    })?;
    peer.populate(0..2_500, "k", Some(GROUP));
    let (keyring, _) = load(&peer, None);
    assert_all(&keyring?, "k", 0..2_500);
    Ok(())
}

/// Cosmian KMS: at most 1 000 identifiers per Locate, Offset Items ignored, Located Items
/// the size of the answer.
fn cosmian_like() -> Quirks {
    Quirks {
        locate_cap: Some(1_000),
        ignore_offset: true,
        located_items: LocatedItems::PageSize,
        ..Quirks::default()
    }
}

#[test]
fn a_server_that_ignores_offset_items_is_listed_in_parts_or_the_load_is_refused() -> Result<()> {
    // 2 500 keys of three sizes: no part is full, so all of them load.
    let peer = FastPeer::start_with(cosmian_like())?;
    let objects: Vec<Populated> = (0..2_500)
        .map(|i| Populated {
            name: format!("k{i}"),
            secret: false,
            material: populated_material(i)[..[16, 24, 32][i % 3]].to_vec(),
            state: 2,
            more_names: Vec::new(),
        })
        .collect();
    peer.populate_objects(&objects, Some(GROUP));
    let (keyring, log) = load(&peer, None);
    let keyring = keyring?;
    assert_eq!(keyring.len(), 2_500);
    for (i, object) in objects.iter().enumerate() {
        let key = keyring.fetch(&format!("k{i}"), "").expect("present");
        assert_eq!(*key.data, object.material);
    }
    assert!(
        logged(&log, "cannot page; listing it in 4 parts"),
        "{:?}",
        log.lines()
    );

    // 2 500 keys of one size: a part stays full, and the load says why instead of loading
    // 1 000 of them.
    let peer = FastPeer::start_with(cosmian_like())?;
    peer.populate(0..2_500, "k", Some(GROUP));
    let error = incomplete(load(&peer, None).0);
    assert!(
        error.contains("returned 1000 identifiers")
            && error
                .contains("Symmetric Keys in object group 'quirks' in state Active of 256 bits"),
        "{error}"
    );

    // A few keys: one short answer is the whole list.
    let peer = FastPeer::start_with(cosmian_like())?;
    peer.populate(0..5, "k", Some(GROUP));
    assert_all(&load(&peer, None).0?, "k", 0..5);
    Ok(())
}

#[test]
fn a_key_destroyed_between_two_pages_costs_no_other_key() -> Result<()> {
    // Pages of 16; after the first round (one Locate per object type), another client
    // destroys the fourth key: every later page would start one key later.
    let peer = FastPeer::start()?;
    let ids = peer.populate(0..100, "k", Some(GROUP));
    let peer = {
        drop(peer);
        let peer = FastPeer::start_with(Quirks {
            destroy_after_locates: Some((2, ids[3].clone())),
            ..Quirks::default()
        })?;
        let again = peer.populate(0..100, "k", Some(GROUP));
        assert_eq!(again, ids, "the same identifiers on a fresh peer");
        peer
    };
    let (keyring, log) = load(&peer, Some(16));
    let keyring = keyring?;
    assert_eq!(keyring.len(), 99);
    assert!(keyring.fetch("k3", "").is_none());
    for i in (0..100).filter(|i| *i != 3) {
        assert!(
            keyring.fetch(&format!("k{i}"), "").is_some(),
            "k{i} is missing"
        );
    }
    assert!(log.lines().len() < 50, "{:?}", log.lines());
    Ok(())
}

#[test]
fn a_server_without_a_stable_order_loads_everything_or_nothing() -> Result<()> {
    // Every other answer newest first. With the total in Located Items, the identifiers
    // seen over several passes are checked against it.
    let peer = FastPeer::start_with(Quirks {
        reorder: true,
        located_items: LocatedItems::Total,
        ..Quirks::default()
    })?;
    peer.populate(0..100, "k", Some(GROUP));
    assert_all(&load(&peer, Some(16)).0?, "k", 0..100);
    // Without it, nothing tells a complete list from a partial one: refused.
    let peer = FastPeer::start_with(Quirks {
        reorder: true,
        ..Quirks::default()
    })?;
    peer.populate(0..100, "k", Some(GROUP));
    let error = incomplete(load(&peer, Some(16)).0);
    assert!(error.contains("passes in a row"), "{error}");
    Ok(())
}

#[test]
fn objects_destroyed_between_locate_and_get_are_skipped_by_name() -> Result<()> {
    for (keep_destroyed, stop_batch_on_error) in [(true, false), (false, false), (true, true)] {
        let quirks = |victims: Vec<String>| Quirks {
            keep_destroyed,
            stop_batch_on_error,
            // After the listing (the first pages of both types, then the page that closes
            // the AES listing), before the Gets.
            destroy_after_listing: Some((3, victims)),
            ..Quirks::default()
        };
        let probe = FastPeer::start()?;
        let ids = probe.populate(0..50, "k", Some(GROUP));
        drop(probe);
        let victims = vec![ids[0].clone(), ids[10].clone(), ids[49].clone()];
        let peer = FastPeer::start_with(quirks(victims.clone()))?;
        peer.populate(0..50, "k", Some(GROUP));
        let (keyring, log) = load(&peer, None);
        let keyring = keyring?;
        let case =
            format!("keep_destroyed {keep_destroyed}, stop_batch_on_error {stop_batch_on_error}");
        assert_eq!(keyring.len(), 47, "{case}");
        for victim in &victims {
            assert!(
                logged(&log, &format!("skipping KMIP object {victim}")),
                "{case}: {:?}",
                log.lines()
            );
        }
    }
    Ok(())
}

#[test]
fn a_server_that_refuses_batch_options_is_asked_again_without() -> Result<()> {
    let peer = FastPeer::start_with(Quirks {
        reject_batch_options: true,
        ..Quirks::default()
    })?;
    peer.populate(0..30, "k", Some(GROUP));
    let (keyring, log) = load(&peer, None);
    assert_all(&keyring?, "k", 0..30);
    assert!(logged(&log, "refuses Batch Error Continuation Option"));
    Ok(())
}

#[test]
fn a_store_on_a_server_that_activates_at_register_is_stored() -> Result<()> {
    // Active at Register, Activate refused, Destroy of an Active object refused: the store
    // reads the State back and reports what is true.
    let peer = FastPeer::start_with(Quirks {
        active_at_register: true,
        refuse_destroy_active: true,
        ..Quirks::default()
    })?;
    let (keyring, log) = load(&peer, None);
    let keyring = keyring?;
    keyring.store("master", "", "AES", &[5u8; 32])?;
    assert!(
        logged(&log, "is Active, so the key is stored"),
        "{:?}",
        log.lines()
    );
    let reloaded = load(&peer, None).0?;
    assert_eq!(
        *reloaded.fetch("master", "").expect("stored").data,
        vec![5u8; 32]
    );
    Ok(())
}

fn protocol_version(keyring: &Keyring) -> Option<String> {
    keyring.session().protocol_version
}

#[test]
fn versions_are_negotiated_honestly() -> Result<()> {
    // Listed oldest first: the highest common one is used, not the first listed.
    let peer = FastPeer::start_with(Quirks {
        versions: Some(vec![(1, 0), (1, 1), (1, 2), (1, 3), (1, 4)]),
        ..Quirks::default()
    })?;
    let keyring = load(&peer, None).0?;
    assert_eq!(protocol_version(&keyring).as_deref(), Some("1.4"));

    // An empty list: no version in common, not KMIP 1.1.
    let peer = FastPeer::start_with(Quirks {
        versions: Some(Vec::new()),
        ..Quirks::default()
    })?;
    let error = load(&peer, None)
        .0
        .expect_err("no common version")
        .to_string();
    assert!(
        error.contains("speaks none of the KMIP versions"),
        "{error}"
    );

    // A server that refuses the 1.4 header is asked again with a 1.1 header, and the
    // downgrade is a warning.
    let peer = FastPeer::start_with(Quirks {
        versions: Some(vec![(1, 2), (1, 1), (1, 0)]),
        invalid_header_version: Some((1, 4)),
        ..Quirks::default()
    })?;
    peer.populate(0..3, "k", Some(GROUP));
    let (keyring, log) = load(&peer, None);
    let keyring = keyring?;
    assert_eq!(protocol_version(&keyring).as_deref(), Some("1.2"));
    assert_all(&keyring, "k", 0..3);
    assert!(logged(&log, "speaks KMIP 1.2 at most"), "{:?}", log.lines());

    // Only a server that does not know Discover Versions is spoken to in 1.0.
    let peer = FastPeer::start_with(Quirks {
        refuse_discover_versions: Some(0x05),
        ..Quirks::default()
    })?;
    peer.populate(0..3, "k", Some(GROUP));
    let (keyring, log) = load(&peer, None);
    let keyring = keyring?;
    assert_eq!(protocol_version(&keyring).as_deref(), Some("1.0"));
    assert_all(&keyring, "k", 0..3);
    assert!(logged(&log, "does not support Discover Versions"));
    // Any other refusal is an error, not KMIP 1.0.
    let peer = FastPeer::start_with(Quirks {
        refuse_discover_versions: Some(0x100),
        ..Quirks::default()
    })?;
    let error = load(&peer, None).0.expect_err("refused").to_string();
    assert!(error.contains("GeneralFailure"), "{error}");
    Ok(())
}

#[test]
fn kmip_2_and_unknown_result_reasons_decode() -> Result<()> {
    // Object Not Found (a KMIP 2 code) where Item Not Found belongs: a key another client
    // destroyed counts as removed.
    let peer = FastPeer::start_with(Quirks {
        not_found_reason: Some(0x37),
        ..Quirks::default()
    })?;
    let ids = peer.populate(0..2, "k", Some(GROUP));
    let keyring = load(&peer, None).0?;
    peer.clear();
    keyring.remove("k0", "")?;
    assert!(keyring.fetch("k0", "").is_none());
    drop(ids);
    // A code no version of KMIP defines is reported with its number.
    let peer = FastPeer::start_with(Quirks {
        refuse_secret_data: Some(0x8000_0001),
        ..Quirks::default()
    })?;
    let error = load(&peer, None).0.expect_err("refused").to_string();
    assert!(error.contains("Unknown(0x80000001)"), "{error}");
    Ok(())
}

#[test]
fn a_server_without_secret_data_loads_its_aes_keys() -> Result<()> {
    let peer = FastPeer::start_with(Quirks {
        refuse_secret_data: Some(0x28),
        ..Quirks::default()
    })?;
    peer.populate(0..4, "k", Some(GROUP));
    let (keyring, log) = load(&peer, None);
    assert_all(&keyring?, "k", 0..4);
    assert!(logged(&log, "loading no SECRET keys"), "{:?}", log.lines());
    Ok(())
}

#[test]
fn transparent_symmetric_keys_are_read() -> Result<()> {
    let peer = FastPeer::start_with(Quirks {
        transparent_keys: true,
        ..Quirks::default()
    })?;
    peer.populate(0..7, "k", Some(GROUP));
    assert_all(&load(&peer, Some(16)).0?, "k", 0..7);
    Ok(())
}

#[test]
fn a_missing_state_fails_the_load_and_several_names_are_reported() -> Result<()> {
    let peer = FastPeer::start_with(Quirks {
        omit_state: true,
        ..Quirks::default()
    })?;
    peer.populate(0..1, "k", Some(GROUP));
    let error = load(&peer, None).0.expect_err("no State").to_string();
    assert!(error.contains("returned no State"), "{error}");

    let peer = FastPeer::start()?;
    peer.populate_objects(
        &[Populated {
            name: "first".into(),
            secret: true,
            material: b"a secret".to_vec(),
            state: 2,
            more_names: vec!["second".into()],
        }],
        Some(GROUP),
    );
    let (keyring, log) = load(&peer, None);
    let keyring = keyring?;
    assert!(keyring.fetch("first", "").is_some() && keyring.fetch("second", "").is_none());
    assert!(logged(
        &log,
        "has 2 Names; its key is loaded under the first, 'first'"
    ));
    Ok(())
}

#[test]
fn fortanix_registers_readable_keys_and_ignores_destroyed_names() -> Result<()> {
    let path =
        workspace_root().join("target/wasm32-wasip2/release/kmip_keyring_guest_fortanix.wasm");
    let fortanix = Runtime::from_wasm(&std::fs::read(&path)?)?;
    let peer = FastPeer::start_with(Quirks {
        keep_destroyed: true,
        ..Quirks::default()
    })?;
    let keyring = load_with(&peer, None, fortanix).0?;
    keyring.store("k", "", "AES", &[1u8; 32])?;
    let id = peer.ids().pop().expect("one object");
    let mask = peer
        .attribute_of(&id, "Cryptographic Usage Mask")
        .and_then(|v| v.integer());
    assert_eq!(mask, Some(0x04 | 0x08 | 0x40), "Encrypt | Decrypt | Export");
    keyring.remove("k", "")?;
    assert_eq!(peer.state_of(&id), Some(5), "destroyed, metadata kept");
    // The name is still on the destroyed object: not a clash for a new key.
    keyring.store("k", "", "AES", &[2u8; 32])?;
    Ok(())
}
