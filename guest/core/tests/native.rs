//! The guest's keyring logic as a plain native library, over an in-memory Platform:
//! connection reuse, reconnection, and which requests may be retried. Runs with the core
//! alone: no wasm toolchain, no wasmtime.

use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::{
    Connection, KeyringError, KeyringLogic, LogLevel, Platform, Settings, TransportError,
    VendorProfile,
};
mod common;
use common::ttlv::*;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// The component's defaults, no Object Group.
fn settings() -> Settings {
    Settings {
        object_group: None,
        locate_page_size: kmip_keyring_rules::DEFAULT_LOCATE_PAGE_SIZE,
        fetch_batch_size: kmip_keyring_rules::FETCH_BATCH_SIZE,
        strategy: LoadStrategy::Batched,
    }
}

#[derive(Default)]
struct Wire {
    responses: VecDeque<Result<Vec<u8>, TransportError>>,
    requests: Vec<Vec<u8>>,
    opened: u32,
    logs: Vec<(LogLevel, String)>,
}

#[derive(Clone, Default)]
struct MemoryPlatform(Rc<RefCell<Wire>>);

struct MemoryConnection(Rc<RefCell<Wire>>);

impl Connection for MemoryConnection {
    fn server_index(&self) -> u32 {
        0
    }
    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        self.0.borrow_mut().requests.push(message.to_vec());
        Ok(())
    }
    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        self.0
            .borrow_mut()
            .responses
            .pop_front()
            .unwrap_or(Err(TransportError::Closed))
    }
}

impl Platform for MemoryPlatform {
    type Conn = MemoryConnection;
    fn server_count(&self) -> u32 {
        1
    }
    fn open(&mut self, _: u32) -> Result<MemoryConnection, TransportError> {
        self.0.borrow_mut().opened += 1;
        Ok(MemoryConnection(self.0.clone()))
    }
    fn log(&self, level: LogLevel, message: &str) {
        self.0.borrow_mut().logs.push((level, message.to_owned()));
    }
    fn random_bytes(&mut self, buf: &mut [u8]) {
        buf.iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = i as u8 ^ 0x5a);
    }
}

impl MemoryPlatform {
    fn respond(&self, message: Vec<u8>) {
        self.0.borrow_mut().responses.push_back(Ok(message));
    }
    fn fail(&self, error: TransportError) {
        self.0.borrow_mut().responses.push_back(Err(error));
    }
    fn opened(&self) -> u32 {
        self.0.borrow().opened
    }
    fn operations(&self) -> Vec<u32> {
        self.0
            .borrow()
            .requests
            .iter()
            .flat_map(|r| request_items(r).unwrap().into_iter().map(|(op, _)| op))
            .collect()
    }
}

fn keyring() -> (KeyringLogic<MemoryPlatform>, MemoryPlatform) {
    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::new(platform.clone());
    logic.configure(settings()).unwrap();
    (logic, platform)
}

fn empty_locate() -> Vec<u8> {
    response(1, 4, vec![success(op::LOCATE, None, vec![])])
}

#[test]
fn one_connection_serves_many_operations() {
    let (mut logic, platform) = keyring();
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(empty_locates(4));
    logic.load_all().unwrap();
    for uid in ["1", "2"] {
        platform.respond(response(
            1,
            4,
            vec![success(
                op::REGISTER,
                None,
                vec![text(tag::UNIQUE_IDENTIFIER, uid)],
            )],
        ));
        platform.respond(response(
            1,
            4,
            vec![success(
                op::ACTIVATE,
                None,
                vec![text(tag::UNIQUE_IDENTIFIER, uid)],
            )],
        ));
    }
    logic.store("a", "", "AES", &[1; 16]).unwrap();
    let generated = logic.generate("b", "", "AES", 32).unwrap();
    assert_eq!(generated.data.as_slice().len(), 32);
    assert_eq!(platform.opened(), 1);
    assert_eq!(
        platform.operations(),
        vec![
            op::DISCOVER_VERSIONS,
            op::LOCATE,
            op::LOCATE,
            op::REGISTER,
            op::ACTIVATE,
            op::REGISTER,
            op::ACTIVATE
        ]
    );
}

#[test]
fn a_broken_reused_connection_is_reopened_and_a_read_retried_once() {
    let (mut logic, platform) = keyring();
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(empty_locates(4));
    logic.load_all().unwrap();
    // The server dropped the idle connection: the next Locate fails, is retried on a
    // fresh connection (with a new Discover Versions) and succeeds.
    platform.fail(TransportError::Closed);
    platform.respond(discover_versions_response(&[(1, 2)]));
    platform.respond(response(
        1,
        2,
        vec![
            success(op::LOCATE, Some(0), vec![]),
            success(op::LOCATE, Some(1), vec![]),
        ],
    ));
    logic.load_all().unwrap();
    assert_eq!(platform.opened(), 2);
    assert_eq!(logic.status().protocol_version.as_deref(), Some("1.2"));
}

fn keyring_with(profile: VendorProfile) -> (KeyringLogic<MemoryPlatform>, MemoryPlatform) {
    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::with_profile(platform.clone(), profile);
    logic.configure(settings()).unwrap();
    (logic, platform)
}

fn registers(platform: &MemoryPlatform) -> usize {
    platform
        .operations()
        .iter()
        .filter(|op| **op == op::REGISTER)
        .count()
}

#[test]
fn a_register_whose_answer_was_lost_is_sent_once_more_on_a_fresh_connection() {
    let (mut logic, platform) = keyring();
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(empty_locates(4));
    logic.load_all().unwrap();
    platform.fail(TransportError::Timeout("receiving".into()));
    // The second attempt, on a new connection (the next server, in production).
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(response(
        1,
        4,
        vec![success(
            op::REGISTER,
            None,
            vec![text(tag::UNIQUE_IDENTIFIER, "8")],
        )],
    ));
    platform.respond(response(
        1,
        4,
        vec![success(
            op::ACTIVATE,
            None,
            vec![text(tag::UNIQUE_IDENTIFIER, "8")],
        )],
    ));
    assert_eq!(logic.store("a", "", "AES", &[1; 16]).unwrap(), "8");
    assert_eq!(registers(&platform), 2, "one lost, one answered");
    assert_eq!(platform.opened(), 2);
}

#[test]
fn with_unique_names_a_lost_register_is_never_resent() {
    let (mut logic, platform) = keyring_with(kmip_keyring_core::vendor::FORTANIX);
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(empty_locates(4));
    logic.load_all().unwrap();
    // Fortanix locates the name first, then registers.
    platform.respond(empty_locate());
    platform.fail(TransportError::Timeout("receiving".into()));
    let err = logic.store("a", "", "AES", &[1; 16]).unwrap_err();
    assert!(
        matches!(err, KeyringError::Transport(TransportError::Timeout(_))),
        "{err:?}"
    );
    assert_eq!(
        registers(&platform),
        1,
        "a Register whose answer was lost may have happened: where names are unique, \
         a second one would clash with it"
    );
    // The next operation opens a fresh connection.
    platform.respond(discover_versions_response(&[(1, 4)]));
    platform.respond(response(
        1,
        4,
        vec![success(
            op::REVOKE,
            None,
            vec![text(tag::UNIQUE_IDENTIFIER, "9")],
        )],
    ));
    platform.respond(response(
        1,
        4,
        vec![success(
            op::DESTROY,
            None,
            vec![text(tag::UNIQUE_IDENTIFIER, "9")],
        )],
    ));
    logic.remove("9").unwrap();
    assert_eq!(platform.opened(), 2);
}

#[test]
fn nothing_works_before_configure() {
    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::new(platform.clone());
    assert_eq!(logic.load_all().unwrap_err(), KeyringError::NotConfigured);
    assert_eq!(
        logic.store("a", "", "AES", &[0; 16]).unwrap_err(),
        KeyringError::NotConfigured
    );
    assert_eq!(platform.opened(), 0);
}

/// The answers to one Get and one Get Attributes of AES object `uid`, batch item ids
/// `first` and `first + 1` when the request was a batch.
/// The answers to one object's Get Attributes and Get, in that order (the load's).
fn object_items(uid: &str, first: Option<u32>) -> [Item; 2] {
    let get = success(
        op::GET,
        first.map(|i| i + 1),
        aes_get_payload(uid, &[7; 32]),
    );
    let attributes = success(
        op::GET_ATTRIBUTES,
        first,
        vec![
            text(tag::UNIQUE_IDENTIFIER, uid),
            name_attribute(&format!("key-{uid}")),
            state_attribute(state::ACTIVE),
        ],
    );
    [attributes, get]
}

fn locate_answer(ids: &[&str]) -> Vec<u8> {
    let found = ids
        .iter()
        .map(|i| text(tag::UNIQUE_IDENTIFIER, i))
        .collect();
    response(1, 4, vec![success(op::LOCATE, None, found)])
}

/// Loads five AES keys with Locate pages of 3 and batches of 2; returns the keys' names and
/// the operations of each request message.
fn load_five(strategy: LoadStrategy) -> (Vec<String>, Vec<Vec<u32>>) {
    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::new(platform.clone());
    logic
        .configure(Settings {
            locate_page_size: 3,
            fetch_batch_size: 2,
            strategy,
            ..settings()
        })
        .unwrap();
    let ids = ["1", "2", "3", "4", "5"];
    platform.respond(discover_versions_response(&[(1, 4)]));
    // The first pages of both object types in one message, then the rest of the keys.
    let found = |ids: &[&str]| {
        ids.iter()
            .map(|i| text(tag::UNIQUE_IDENTIFIER, i))
            .collect()
    };
    platform.respond(response(
        1,
        4,
        vec![
            success(op::LOCATE, Some(0), found(&ids[..3])),
            success(op::LOCATE, Some(1), vec![]),
        ],
    ));
    // Pages overlap by one identifier: the second starts with the third key, the last one
    // brings nothing new and ends the listing.
    platform.respond(locate_answer(&ids[2..]));
    platform.respond(locate_answer(&ids[4..]));
    match strategy {
        LoadStrategy::Batched => {
            for chunk in ids.chunks(2) {
                let items = chunk
                    .iter()
                    .enumerate()
                    .flat_map(|(i, uid)| object_items(uid, Some(2 * i as u32)))
                    .collect();
                platform.respond(response(1, 4, items));
            }
        }
        LoadStrategy::PerObject => {
            for uid in ids {
                for item in object_items(uid, None) {
                    platform.respond(response(1, 4, vec![item]));
                }
            }
        }
    }
    let names = logic
        .load_all()
        .unwrap()
        .into_iter()
        .map(|k| k.data_id)
        .collect();
    let messages = platform
        .0
        .borrow()
        .requests
        .iter()
        .map(|r| {
            request_items(r)
                .unwrap()
                .into_iter()
                .map(|(op, _)| op)
                .collect()
        })
        .collect();
    (names, messages)
}

#[test]
fn per_object_loading_sends_two_messages_per_key_and_batched_loading_one_per_batch() {
    let expected: Vec<String> = (1..=5).map(|i| format!("key-{i}")).collect();
    let locate = vec![op::LOCATE];

    let (names, messages) = load_five(LoadStrategy::Batched);
    assert_eq!(names, expected);
    // Discover Versions, the first Locate pages of both types in one message, the second
    // and the closing AES pages, ceil(5 / 2) batches.
    let batch = |n: usize| [op::GET_ATTRIBUTES, op::GET].repeat(n);
    let first_pages = vec![op::LOCATE, op::LOCATE];
    assert_eq!(
        messages,
        vec![
            vec![op::DISCOVER_VERSIONS],
            first_pages.clone(),
            locate.clone(),
            locate.clone(),
            batch(2),
            batch(2),
            batch(1),
        ]
    );

    let (names, messages) = load_five(LoadStrategy::PerObject);
    assert_eq!(names, expected);
    // The same Locates; then a Get Attributes message and a Get message per key.
    let mut per_object = vec![
        vec![op::DISCOVER_VERSIONS],
        first_pages,
        locate.clone(),
        locate,
    ];
    per_object.extend((0..5).flat_map(|_| [vec![op::GET_ATTRIBUTES], vec![op::GET]]));
    assert_eq!(messages, per_object);
    assert_eq!(messages.len(), 1 + 3 + 2 * 5);
}

/// A PreActive leftover whose Get the server refuses (Cosmian KMS answers Wrong Key
/// Lifecycle State for an object that is not Active): the load skips it with a warning and
/// loads the rest, and the inventory lists both, the leftover's material unreadable.
#[test]
fn a_preactive_object_whose_get_is_refused_is_skipped_not_fatal() {
    let answers = |platform: &MemoryPlatform| {
        platform.respond(discover_versions_response(&[(1, 4)]));
        platform.respond(response(
            1,
            4,
            vec![
                success(
                    op::LOCATE,
                    Some(0),
                    vec![
                        text(tag::UNIQUE_IDENTIFIER, "1"),
                        text(tag::UNIQUE_IDENTIFIER, "2"),
                    ],
                ),
                success(op::LOCATE, Some(1), vec![]),
            ],
        ));
        platform.respond(locate_answer(&["2"]));
        let [attrs, get] = object_items("1", Some(0));
        let leftover = success(
            op::GET_ATTRIBUTES,
            Some(2),
            vec![
                text(tag::UNIQUE_IDENTIFIER, "2"),
                name_attribute("half-stored"),
                state_attribute(state::PRE_ACTIVE),
            ],
        );
        let refused = failure(
            op::GET,
            Some(3),
            reason::WRONG_KEY_LIFECYCLE_STATE,
            "object is not active",
        );
        platform.respond(response(1, 4, vec![attrs, get, leftover, refused]));
    };

    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::new(platform.clone());
    logic.configure(settings()).unwrap();
    answers(&platform);
    let keys = logic
        .load_all()
        .expect("the leftover does not fail the load");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].data_id, "key-1");
    let logs = platform.0.borrow().logs.clone();
    assert!(
        // A Note: the expected trace of an interrupted store, not a Warning.
        logs.iter().any(|(level, line)| *level == LogLevel::Info
            && line.contains("skipping KMIP object 2 ('half-stored'): it is PreActive")),
        "{logs:?}"
    );

    let platform = MemoryPlatform::default();
    let mut logic = KeyringLogic::new(platform.clone());
    logic.configure(settings()).unwrap();
    answers(&platform);
    let objects = logic.inventory().expect("the leftover is listed");
    assert_eq!(objects.len(), 2);
    let leftover = objects.iter().find(|o| o.object_id == "2").unwrap();
    assert!(leftover.is_preactive_leftover() && !leftover.would_load());
    assert!(
        leftover
            .unreadable
            .as_deref()
            .is_some_and(|u| u.contains("WrongKeyLifecycleState")),
        "{leftover:?}"
    );
    let active = objects.iter().find(|o| o.object_id == "1").unwrap();
    assert!(active.would_load() && active.length == Some(32));
}
