//! The guest component inside wasmtime, against a scripted KMIP peer behind the host's
//! transport: the exact requests each operation sends, and how each response (including
//! KMIP failures and garbage) is decoded.

use component_keyring_kmip::sandbox::{
    GuestError as KeyringError, GuestSettings, Sandbox, SandboxError,
};
use component_keyring_kmip::{LogSink, MemoryLog};
use kmip_keyring_tests::peer::ScriptedPeer;
use kmip_keyring_tests::runtime;
use kmip_keyring_tests::ttlv::{self, *};
use std::sync::Arc;

use ttlv::reason::{ITEM_NOT_FOUND, OPERATION_NOT_SUPPORTED, PERMISSION_DENIED};

fn sandbox(peer: &ScriptedPeer, group: Option<&str>) -> (Sandbox, Arc<MemoryLog>) {
    let log = MemoryLog::shared();
    let settings = GuestSettings {
        object_group: group.map(str::to_owned),
        locate_page_size: 2,
        fetch_batch_size: 10,
    };
    let sandbox = Sandbox::new(
        runtime(),
        Arc::new(peer.clone()),
        log.clone() as Arc<dyn LogSink>,
        settings,
        Default::default(),
    );
    (sandbox, log)
}

/// A peer that has already answered Discover Versions with 1.4.
fn kmip14_peer() -> ScriptedPeer {
    let peer = ScriptedPeer::new(1);
    peer.respond(discover_versions_response(&[(1, 4), (1, 2)]));
    peer
}

fn attr<'a>(list: &'a [(String, Item)], name: &str) -> &'a Item {
    &list
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("attribute {name} missing"))
        .1
}

fn guest_error(result: Result<impl std::fmt::Debug, SandboxError>) -> KeyringError {
    match result {
        Err(SandboxError::Guest(e)) => e,
        other => panic!("expected a guest error, got {other:?}"),
    }
}

#[test]
fn discover_versions_is_the_first_request_and_1_4_is_chosen() {
    let peer = kmip14_peer();
    peer.respond(empty_locates(4));
    let (mut sb, _) = sandbox(&peer, None);
    assert!(sb.load_all().unwrap().is_empty());
    let requests = peer.requests();
    let (op0, payload) = &request_items(&requests[0]).unwrap()[0];
    assert_eq!(*op0, op::DISCOVER_VERSIONS);
    let offered: Vec<(i32, i32)> = payload
        .all(tag::PROTOCOL_VERSION)
        .iter()
        .map(|v| {
            (
                v.child(tag::PROTOCOL_VERSION_MAJOR)
                    .unwrap()
                    .integer()
                    .unwrap(),
                v.child(tag::PROTOCOL_VERSION_MINOR)
                    .unwrap()
                    .integer()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(offered, vec![(1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]);
    let header = decode(&requests[1]).unwrap();
    let version = header
        .path(&[tag::REQUEST_HEADER, tag::PROTOCOL_VERSION])
        .unwrap();
    assert_eq!(
        version
            .child(tag::PROTOCOL_VERSION_MINOR)
            .unwrap()
            .integer(),
        Some(4)
    );
    assert_eq!(sb.status().protocol_version.as_deref(), Some("1.4"));
    assert_eq!(sb.status().server_index, Some(0));
}

#[test]
fn store_aes_registers_a_raw_symmetric_key_then_activates_it() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, uid_payload("uid-7"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![success(op::ACTIVATE, None, uid_payload("uid-7"))],
    ));
    let (mut sb, _) = sandbox(&peer, Some("grp"));
    let key: Vec<u8> = (0..32).collect();
    let uid = sb
        .store("INNODBKey-1", "root@localhost", "AES", &key)
        .unwrap();
    assert_eq!(uid, "uid-7");

    let requests = peer.requests();
    assert_eq!(requests.len(), 3);
    let (op, register) = &request_items(&requests[1]).unwrap()[0];
    assert_eq!(*op, op::REGISTER);
    assert_eq!(
        register.child(tag::OBJECT_TYPE).unwrap().enumeration(),
        Some(2)
    );
    let template = attributes(register.child(tag::TEMPLATE_ATTRIBUTE).unwrap());
    assert_eq!(
        attr(&template, "Cryptographic Algorithm").enumeration(),
        Some(3)
    );
    assert_eq!(attr(&template, "Cryptographic Length").integer(), Some(256));
    assert_eq!(
        attr(&template, "Cryptographic Usage Mask").integer(),
        Some(12)
    );
    assert_eq!(attr(&template, "Object Group").text(), Some("grp"));
    let name = attr(&template, "Name");
    assert_eq!(
        name.child(tag::NAME_VALUE).unwrap().text(),
        Some("INNODBKey-1")
    );
    assert_eq!(name.child(tag::NAME_TYPE).unwrap().enumeration(), Some(1));
    let owner = attr(&template, "Application Specific Information");
    assert_eq!(
        owner.child(tag::APPLICATION_NAMESPACE).unwrap().text(),
        Some("mysql-keyring-auth-id")
    );
    assert_eq!(
        owner.child(tag::APPLICATION_DATA).unwrap().text(),
        Some("root@localhost")
    );
    let block = register
        .path(&[tag::SYMMETRIC_KEY, tag::KEY_BLOCK])
        .unwrap();
    assert_eq!(
        block.child(tag::KEY_FORMAT_TYPE).unwrap().enumeration(),
        Some(1)
    );
    assert_eq!(
        block
            .path(&[tag::KEY_VALUE, tag::KEY_MATERIAL])
            .unwrap()
            .bytes(),
        Some(&key[..])
    );
    assert_eq!(
        block
            .child(tag::CRYPTOGRAPHIC_ALGORITHM)
            .unwrap()
            .enumeration(),
        Some(3)
    );
    assert_eq!(
        block.child(tag::CRYPTOGRAPHIC_LENGTH).unwrap().integer(),
        Some(256)
    );

    let (op, activate) = &request_items(&requests[2]).unwrap()[0];
    assert_eq!(*op, op::ACTIVATE);
    assert_eq!(
        activate.child(tag::UNIQUE_IDENTIFIER).unwrap().text(),
        Some("uid-7")
    );
}

#[test]
fn store_secret_registers_password_secret_data_without_owner_or_group() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, uid_payload("9"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![success(op::ACTIVATE, None, uid_payload("9"))],
    ));
    let (mut sb, _) = sandbox(&peer, None);
    sb.store("s", "", "SECRET", b"\x00a\x00").unwrap();
    let (_, register) = &request_items(&peer.requests()[1]).unwrap()[0];
    assert_eq!(
        register.child(tag::OBJECT_TYPE).unwrap().enumeration(),
        Some(7)
    );
    let template = attributes(register.child(tag::TEMPLATE_ATTRIBUTE).unwrap());
    assert_eq!(
        attr(&template, "Cryptographic Usage Mask").integer(),
        Some(76)
    );
    let names: Vec<&str> = template.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"Object Group"), "{names:?}");
    assert!(
        !names.contains(&"Application Specific Information"),
        "{names:?}"
    );
    let secret = register.child(tag::SECRET_DATA).unwrap();
    assert_eq!(
        secret.child(tag::SECRET_DATA_TYPE).unwrap().enumeration(),
        Some(1)
    );
    let block = secret.child(tag::KEY_BLOCK).unwrap();
    assert_eq!(
        block.child(tag::KEY_FORMAT_TYPE).unwrap().enumeration(),
        Some(2)
    );
    assert_eq!(
        block
            .path(&[tag::KEY_VALUE, tag::KEY_MATERIAL])
            .unwrap()
            .bytes(),
        Some(&b"\x00a\x00"[..])
    );
}

fn symmetric_get(uid: &str, id: u32, key: &[u8]) -> Item {
    success(op::GET, Some(id), aes_get_payload(uid, key))
}

fn named_attributes(uid: &str, id: u32, name: &str, owner: Option<&str>) -> Item {
    let mut payload = vec![
        text(tag::UNIQUE_IDENTIFIER, uid),
        name_attribute(name),
        state_attribute(ttlv::state::ACTIVE),
    ];
    if let Some(owner) = owner {
        payload.push(st(
            tag::ATTRIBUTE,
            vec![
                text(tag::ATTRIBUTE_NAME, "Application Specific Information"),
                st(
                    tag::ATTRIBUTE_VALUE,
                    vec![
                        text(tag::APPLICATION_NAMESPACE, "mysql-keyring-auth-id"),
                        text(tag::APPLICATION_DATA, owner),
                    ],
                ),
            ],
        ));
    }
    success(op::GET_ATTRIBUTES, Some(id), payload)
}

#[test]
fn load_pages_locate_and_batches_get_with_get_attributes() {
    let peer = kmip14_peer();
    let locate = |ids: &[&str]| {
        response(
            1,
            4,
            vec![success(
                op::LOCATE,
                None,
                ids.iter()
                    .map(|i| text(tag::UNIQUE_IDENTIFIER, i))
                    .collect(),
            )],
        )
    };
    // Page size 2: the first pages of both types in one message; then pages that overlap
    // the previous one by its last identifier, until one brings nothing new.
    peer.respond(response(
        1,
        4,
        vec![
            success(
                op::LOCATE,
                Some(0),
                vec![
                    text(tag::UNIQUE_IDENTIFIER, "a"),
                    text(tag::UNIQUE_IDENTIFIER, "b"),
                ],
            ),
            success(op::LOCATE, Some(1), vec![]),
        ],
    ));
    peer.respond(locate(&["b", "c"]));
    peer.respond(locate(&["c"]));
    peer.respond(response(
        1,
        4,
        vec![
            named_attributes("a", 0, "key-a", None),
            symmetric_get("a", 1, &[1u8; 16]),
            named_attributes("b", 2, "key-b", Some("u@h")),
            symmetric_get("b", 3, &[2u8; 24]),
            named_attributes("c", 4, "key-c", None),
            symmetric_get("c", 5, &[3u8; 32]),
        ],
    ));
    let (mut sb, _) = sandbox(&peer, Some("grp"));
    let keys = sb.load_all().unwrap();
    assert_eq!(peer.pending(), 0);
    let summary: Vec<(String, String, String, String, Vec<u8>)> = keys
        .into_iter()
        .map(|k| {
            (
                k.object_id,
                k.data_id,
                k.auth_id,
                k.key_type,
                k.data.to_vec(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "a".into(),
                "key-a".into(),
                "".into(),
                "AES".into(),
                vec![1u8; 16]
            ),
            (
                "b".into(),
                "key-b".into(),
                "u@h".into(),
                "AES".into(),
                vec![2u8; 24]
            ),
            (
                "c".into(),
                "key-c".into(),
                "".into(),
                "AES".into(),
                vec![3u8; 32]
            ),
        ]
    );

    let requests = peer.requests();
    let (_, first_locate) = &request_items(&requests[1]).unwrap()[0];
    assert_eq!(
        first_locate.child(tag::MAXIMUM_ITEMS).unwrap().integer(),
        Some(2)
    );
    assert!(
        first_locate.child(tag::OFFSET_ITEMS).is_none(),
        "offset 0 is the same as none"
    );
    let filters = attributes(first_locate);
    assert_eq!(attr(&filters, "Object Type").enumeration(), Some(2));
    assert_eq!(attr(&filters, "Object Group").text(), Some("grp"));
    for (request, offset) in [(2, 1), (3, 2)] {
        let (_, page) = &request_items(&requests[request]).unwrap()[0];
        assert_eq!(
            page.child(tag::OFFSET_ITEMS).unwrap().integer(),
            Some(offset),
            "each page starts at the last identifier of the previous one"
        );
    }
    let batch = request_items(&requests[4]).unwrap();
    let ops: Vec<u32> = batch.iter().map(|(op, _)| *op).collect();
    // Get Attributes first: a server that stops a batch at a failed Get has then always
    // said whether the object is gone.
    assert_eq!(ops, [op::GET_ATTRIBUTES, op::GET].repeat(3));
    // Symmetric keys are asked for in the Raw key format (a server may hold them as
    // Transparent Symmetric Keys and answer that by default).
    assert_eq!(
        batch[1]
            .1
            .child(tag::KEY_FORMAT_TYPE)
            .unwrap()
            .enumeration(),
        Some(1)
    );
    let message = decode(&requests[4]).unwrap();
    // The server is asked to go on past a failed item (Batch Error Continuation Option
    // Continue), so one object gone between Locate and Get does not stop the others.
    assert_eq!(
        message
            .path(&[tag::REQUEST_HEADER, tag::BATCH_ERROR_CONTINUATION_OPTION])
            .unwrap()
            .enumeration(),
        Some(1)
    );
    assert_eq!(
        message
            .path(&[tag::REQUEST_HEADER, tag::BATCH_COUNT])
            .unwrap()
            .integer(),
        Some(6)
    );
    let (_, secret_locate) = &request_items(&requests[1]).unwrap()[1];
    assert_eq!(
        attr(&attributes(secret_locate), "Object Type").enumeration(),
        Some(7)
    );
}

#[test]
fn remove_revokes_with_percona_reason_then_destroys() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REVOKE, None, uid_payload("5"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![success(op::DESTROY, None, uid_payload("5"))],
    ));
    let (mut sb, _) = sandbox(&peer, None);
    sb.remove("5").unwrap();
    let requests = peer.requests();
    let (op, revoke) = &request_items(&requests[1]).unwrap()[0];
    assert_eq!(*op, op::REVOKE);
    assert_eq!(
        revoke.child(tag::UNIQUE_IDENTIFIER).unwrap().text(),
        Some("5")
    );
    let reason = revoke.child(tag::REVOCATION_REASON).unwrap();
    assert_eq!(
        reason
            .child(tag::REVOCATION_REASON_CODE)
            .unwrap()
            .enumeration(),
        Some(1)
    );
    assert_eq!(
        reason.child(tag::REVOCATION_MESSAGE).unwrap().text(),
        Some("Deleting the key")
    );
    let (op, destroy) = &request_items(&requests[2]).unwrap()[0];
    assert_eq!(*op, op::DESTROY);
    assert_eq!(
        destroy.child(tag::UNIQUE_IDENTIFIER).unwrap().text(),
        Some("5")
    );
}

#[test]
fn a_kmip_failure_result_is_reported_with_reason_and_message() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![failure(
            op::REGISTER,
            None,
            PERMISSION_DENIED,
            "not in your scope",
        )],
    ));
    let (mut sb, _) = sandbox(&peer, None);
    match guest_error(sb.store("k", "", "AES", &[0u8; 16])) {
        KeyringError::ServerFailure(f) => {
            assert_eq!(f.operation, "Register");
            assert_eq!(f.reason, "PermissionDenied");
            assert_eq!(f.message, "not in your scope");
        }
        other => panic!("{other:?}"),
    }
    // The instance survives a KMIP failure: the next call reuses the session.
    peer.respond(response(
        1,
        4,
        vec![success(op::REVOKE, None, uid_payload("1"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![failure(op::DESTROY, None, ITEM_NOT_FOUND, "gone")],
    ));
    sb.remove("1").unwrap();
    assert_eq!(peer.opened(), vec![0]);
}

/// A Get Attributes answer with the object's State only.
fn state_answer(uid: &str, state: u32) -> Vec<u8> {
    let mut payload = uid_payload(uid);
    payload.push(st(
        tag::ATTRIBUTE,
        vec![
            text(tag::ATTRIBUTE_NAME, "State"),
            en(tag::ATTRIBUTE_VALUE, state),
        ],
    ));
    response(1, 4, vec![success(op::GET_ATTRIBUTES, None, payload)])
}

#[test]
fn a_failed_activate_revokes_and_destroys_the_registered_object() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, uid_payload("33"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![failure(op::ACTIVATE, None, PERMISSION_DENIED, "no")],
    ));
    peer.respond(state_answer("33", 1));
    peer.respond(response(
        1,
        4,
        vec![success(op::REVOKE, None, uid_payload("33"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![success(op::DESTROY, None, uid_payload("33"))],
    ));
    let (mut sb, log) = sandbox(&peer, None);
    match guest_error(sb.store("k", "", "AES", &[0u8; 16])) {
        KeyringError::ServerFailure(f) => assert_eq!(f.operation, "Activate"),
        other => panic!("{other:?}"),
    }
    // After any failed Activate the State is read back; PreActive: take it back.
    let ops: Vec<u32> = peer.requests()[1..]
        .iter()
        .map(|r| request_items(r).unwrap()[0].0)
        .collect();
    assert_eq!(
        ops,
        [
            op::REGISTER,
            op::ACTIVATE,
            op::GET_ATTRIBUTES,
            op::REVOKE,
            op::DESTROY
        ]
    );
    let (_, destroy) = &request_items(&peer.requests()[5]).unwrap()[0];
    assert_eq!(
        destroy.child(tag::UNIQUE_IDENTIFIER).unwrap().text(),
        Some("33")
    );
    assert!(log
        .lines()
        .iter()
        .any(|(_, l)| l.contains("destroyed the new object 33")));
}

#[test]
fn an_object_that_cannot_be_taken_back_is_handed_to_the_host_once() {
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, uid_payload("35"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![failure(op::ACTIVATE, None, PERMISSION_DENIED, "no")],
    ));
    for operation in [op::GET_ATTRIBUTES, op::REVOKE, op::DESTROY] {
        peer.respond(response(
            1,
            4,
            vec![failure(operation, None, PERMISSION_DENIED, "no")],
        ));
    }
    let (mut sb, log) = sandbox(&peer, None);
    assert!(sb.take_left_on_server().is_empty());
    match guest_error(sb.store("k", "", "AES", &[0u8; 16])) {
        KeyringError::ServerFailure(f) => assert_eq!(f.operation, "Activate"),
        other => panic!("{other:?}"),
    }
    assert!(log
        .lines()
        .iter()
        .any(|(_, l)| l.contains("taking the new object 35 back failed too")));
    assert_eq!(sb.take_left_on_server(), ["35"]);
    assert!(sb.take_left_on_server().is_empty(), "handed over once");
}

#[test]
fn a_server_that_activates_at_register_refuses_activate_and_the_store_stands() {
    // A server with an activation-date policy makes the object Active at Register and
    // refuses the Activate (Cosmian KMS answers Wrong Key Lifecycle State, a KMIP 2 code).
    let peer = kmip14_peer();
    peer.respond(response(
        1,
        4,
        vec![success(op::REGISTER, None, uid_payload("34"))],
    ));
    peer.respond(response(
        1,
        4,
        vec![failure(op::ACTIVATE, None, 0x43, "DENIED")],
    ));
    peer.respond(state_answer("34", 2));
    let (mut sb, log) = sandbox(&peer, None);
    assert_eq!(sb.store("k", "", "AES", &[0u8; 16]).unwrap(), "34");
    assert_eq!(peer.pending(), 0, "nothing destroyed");
    assert!(
        log.lines()
            .iter()
            .any(|(_, l)| l.contains("WrongKeyLifecycleState")
                && l.contains("is Active, so the key is stored")),
        "{:?}",
        log.lines()
    );
}

#[test]
fn a_server_without_discover_versions_is_spoken_to_in_kmip_1_0() {
    let peer = ScriptedPeer::new(1);
    peer.respond(response(
        1,
        0,
        vec![failure(
            op::DISCOVER_VERSIONS,
            None,
            OPERATION_NOT_SUPPORTED,
            "",
        )],
    ));
    peer.respond(empty_locates(0));
    let (mut sb, _) = sandbox(&peer, None);
    sb.load_all().unwrap();
    let (_, locate) = &request_items(&peer.requests()[1]).unwrap()[0];
    assert!(
        locate.child(tag::OFFSET_ITEMS).is_none(),
        "no Offset Items before KMIP 1.3"
    );
    assert!(
        locate.child(tag::MAXIMUM_ITEMS).is_some(),
        "Maximum Items is KMIP 1.0: a full answer tells that more may exist"
    );
    assert_eq!(sb.status().protocol_version.as_deref(), Some("1.0"));
}

#[test]
fn garbage_and_mismatched_answers_are_malformed_responses_not_traps() {
    let peer = kmip14_peer();
    // A structure that is not a response message.
    peer.respond(ttlv::encode(&st(
        tag::RESPONSE_MESSAGE,
        vec![int(tag::BATCH_COUNT, 1)],
    )));
    let (mut sb, _) = sandbox(&peer, None);
    assert!(matches!(
        guest_error(sb.load_all()),
        KeyringError::MalformedResponse(_)
    ));
    // An answer for another operation.
    peer.respond(discover_versions_response(&[(1, 4)]));
    peer.respond(response(
        1,
        4,
        vec![success(op::DESTROY, None, uid_payload("1"))],
    ));
    assert!(matches!(
        guest_error(sb.load_all()),
        KeyringError::MalformedResponse(_)
    ));
    // The instance is intact: a good exchange works afterwards.
    peer.respond(discover_versions_response(&[(1, 4)]));
    peer.respond(empty_locates(4));
    assert!(sb.load_all().unwrap().is_empty());
}

#[test]
fn invalid_requests_never_reach_the_server() {
    let peer = ScriptedPeer::new(1);
    let (mut sb, _) = sandbox(&peer, None);
    for (ty, len) in [
        ("RSA", 16usize),
        ("AES", 15),
        ("AES", 0),
        ("SECRET", 0),
        ("SECRET", 16385),
    ] {
        let data = vec![1u8; len];
        assert!(
            matches!(
                guest_error(sb.store("k", "", ty, &data)),
                KeyringError::InvalidArgument(_)
            ),
            "{ty} {len}"
        );
    }
    assert!(matches!(
        guest_error(sb.generate("k", "", "DSA", 16)),
        KeyringError::InvalidArgument(_)
    ));
    assert!(peer.requests().is_empty());
    assert!(peer.opened().is_empty());
}
