//! A fast scripted KMIP server on 127.0.0.1 for benchmarks and for real servers' quirks:
//! mutual TLS, objects in memory, minimal answers to the operations the keyring sends.
//!
//! It answers Discover Versions, Register, Activate, Revoke, Destroy, Locate (Object Type,
//! State and attribute filters, Maximum Items, Offset Items), Get and Get Attributes, with
//! the tests' own TTLV codec, one thread per connection. It checks little: it exists so
//! that what a benchmark measures is the client, not a slow server. [`Quirks`] make it
//! behave as real servers were measured or documented to behave (tests/tests/server_quirks.rs).

use crate::pki::{ClientAuth, Pki};
use crate::ttlv::{
    self, aes_object, attribute, en, int, name_attribute, secret_object, st, tag, text,
    uid_payload, Item,
};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use crate::ttlv::key_format::{RAW, TRANSPARENT_SYMMETRIC_KEY};
use crate::ttlv::object_type::{SECRET_DATA, SYMMETRIC_KEY};
use crate::ttlv::reason::{
    INVALID_FIELD, INVALID_MESSAGE, ITEM_NOT_FOUND, KEY_FORMAT_TYPE_NOT_SUPPORTED,
    OBJECT_DESTROYED, OPERATION_NOT_SUPPORTED, PERMISSION_DENIED, WRONG_KEY_LIFECYCLE_STATE,
};
use crate::ttlv::state::{ACTIVE, DEACTIVATED, DESTROYED, PRE_ACTIVE};

/// Located Items in a Locate answer (KMIP 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocatedItems {
    /// Not sent (PyKMIP).
    #[default]
    Absent,
    /// The number of matches, as the specification says.
    Total,
    /// The number of identifiers in this answer (what Cosmian KMS sends).
    PageSize,
}

/// How this server departs from the polite behaviour: each one a real server's, as
/// measured (Cosmian KMS 5.28, PyKMIP 0.11) or documented (CipherTrust, Vault, the KMIP
/// specification's options).
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// Answers a Locate with at most this many identifiers, whatever was asked.
    pub locate_cap: Option<usize>,
    /// Ignores Offset Items: every page is the first one (Cosmian KMS).
    pub ignore_offset: bool,
    /// What Located Items says.
    pub located_items: LocatedItems,
    /// Lists objects newest first in every other Locate answer: no stable order.
    pub reorder: bool,
    /// After this many Locate answers, destroys the object with this identifier, as
    /// another client would between two pages.
    pub destroy_after_locates: Option<(usize, String)>,
    /// After this many Locate answers, destroys these objects: another client removing
    /// keys between the Locate and the Get.
    pub destroy_after_listing: Option<(usize, Vec<String>)>,
    /// Keeps a destroyed object's metadata (State Destroyed); its Get fails with Object
    /// Destroyed (CipherTrust, Cosmian KMS).
    pub keep_destroyed: bool,
    /// Stops a batch at the first failed item, whatever the Batch Error Continuation
    /// Option says.
    pub stop_batch_on_error: bool,
    /// Refuses a request that carries a Batch Error Continuation Option with one Invalid
    /// Message answer (a server without support for it, as KMIP lets it be).
    pub reject_batch_options: bool,
    /// Registers objects Active (an activation-date policy) and refuses their Activate with
    /// Wrong Key Lifecycle State (Cosmian KMS with an Activation Date).
    pub active_at_register: bool,
    /// Refuses to Destroy an object that is Active (PyKMIP, Cosmian KMS).
    pub refuse_destroy_active: bool,
    /// The versions Discover Versions lists, in this order (default 1.4 down to 1.0).
    pub versions: Option<Vec<(i32, i32)>>,
    /// Refuses Discover Versions with this Result Reason.
    pub refuse_discover_versions: Option<u32>,
    /// Answers any request whose header carries this version with Invalid Message.
    pub invalid_header_version: Option<(i32, i32)>,
    /// Refuses a Locate of Secret Data with this Result Reason (no Secret Data support).
    pub refuse_secret_data: Option<u32>,
    /// Keeps symmetric keys as Transparent Symmetric Keys: a Get without a format answers
    /// that, a Get asking for Raw is refused with Key Format Type Not Supported (PyKMIP
    /// does not convert formats).
    pub transparent_keys: bool,
    /// Answers Get Attributes without the State.
    pub omit_state: bool,
    /// Answers with this Result Reason where Item Not Found belongs.
    pub not_found_reason: Option<u32>,
}
/// Largest request accepted; the keyring's biggest is a batch of 200 small items.
const MAX_REQUEST: usize = 4 << 20;

struct Object {
    object_type: u32,
    /// The Symmetric Key or Secret Data structure, answered as registered.
    object: Item,
    /// Attribute structures from the Register template.
    attributes: Vec<Item>,
    state: u32,
}

/// One object of [`FastPeer::populate_objects`].
#[derive(Debug, Clone)]
pub struct Populated {
    /// Its Name.
    pub name: String,
    /// Symmetric Key (AES) or Secret Data.
    pub secret: bool,
    /// Its key material.
    pub material: Vec<u8>,
    /// Its State (1 PreActive, 2 Active, 3 Deactivated).
    pub state: u32,
    /// Names after the first.
    pub more_names: Vec<String>,
}

#[derive(Default)]
struct Objects {
    next: u64,
    by_id: BTreeMap<u64, Object>,
}

impl Objects {
    fn insert(&mut self, object: Object) -> String {
        self.next += 1;
        self.by_id.insert(self.next, object);
        self.next.to_string()
    }
}

#[derive(Default)]
struct Shared {
    quirks: Quirks,
    /// Locate requests answered so far.
    locates: AtomicU64,
    /// Request messages answered so far.
    messages: AtomicU64,
    objects: RwLock<Objects>,
    stop: AtomicBool,
    /// Sockets of live connections, so dropping the server can end their threads.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    connections: AtomicU64,
}

/// A running fast KMIP server.
pub struct FastPeer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The certificates of this run (client and server, one CA).
    pub pki: Pki,
    /// Holds the PKI files.
    pub dir: tempfile::TempDir,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FastPeer {
    /// Generates a PKI and starts serving on a free loopback port.
    pub fn start() -> Result<Self> {
        Self::start_with(Quirks::default())
    }

    /// As [`Self::start`], with a real server's quirks.
    pub fn start_with(quirks: Quirks) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("fast-peer-").tempdir()?;
        let pki = Pki::generate(dir.path())?;
        // Mutual TLS like a real KMIP server, so handshakes cost what they cost in production.
        let config = pki.server_config(ClientAuth::Required)?;
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fast peer")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            quirks,
            ..Shared::default()
        });
        let state = shared.clone();
        let accept = std::thread::Builder::new()
            .name("fast-peer-accept".into())
            .spawn(move || accept_loop(&listener, &config, &state))?;
        Ok(Self {
            port,
            pki,
            dir,
            shared,
            accept: Some(accept),
        })
    }

    /// The configuration as Percona's JSON keys, for a server at `port` (this one's, or a
    /// proxy's in front of it).
    pub fn config_json_for(&self, port: u16) -> serde_json::Value {
        serde_json::json!({
            "server_addr": "127.0.0.1",
            "server_port": port.to_string(),
            "client_ca": self.pki.client_cert,
            "client_key": self.pki.client_key,
            "server_ca": self.pki.ca,
            "kmip_timeout_ms": 30000,
        })
    }

    /// The configuration for this server.
    pub fn config_json(&self) -> serde_json::Value {
        self.config_json_for(self.port)
    }

    /// Adds active AES-256 keys named `<prefix><i>` for each `i` in `range` straight into
    /// the store, in the Object Group `group` if given: a quick fill for load benchmarks.
    /// Key `i`'s material is [`populated_material`]`(i)`. Returns their ids.
    pub fn populate(
        &self,
        range: std::ops::Range<usize>,
        prefix: &str,
        group: Option<&str>,
    ) -> Vec<String> {
        let mut objects = self.shared.objects.write().expect("not poisoned");
        range
            .map(|i| {
                let mut attributes = key_attributes(&format!("{prefix}{i}"), group);
                attributes.push(attribute(
                    "Cryptographic Length",
                    int(tag::ATTRIBUTE_VALUE, 256),
                ));
                objects.insert(Object {
                    object_type: SYMMETRIC_KEY,
                    object: aes_object(&populated_material(i)),
                    attributes,
                    state: ACTIVE,
                })
            })
            .collect()
    }

    /// As [`Self::populate`], half of them secrets: each odd `i` is a Secret Data object
    /// (Password, Opaque) with the same [`populated_material`]`(i)`, each even `i` an
    /// AES-256 key, so `range` `0..n` holds ⌈n/2⌉ AES and ⌊n/2⌋ SECRET keys. Returns their
    /// ids.
    pub fn populate_mixed(
        &self,
        range: std::ops::Range<usize>,
        prefix: &str,
        group: Option<&str>,
    ) -> Vec<String> {
        let objects: Vec<Populated> = range
            .map(|i| Populated {
                name: format!("{prefix}{i}"),
                secret: i % 2 == 1,
                material: populated_material(i).to_vec(),
                state: ACTIVE,
                more_names: Vec::new(),
            })
            .collect();
        self.populate_objects(&objects, group)
    }

    /// Adds the given objects straight into the store, in the Object Group `group` if
    /// given; returns their ids.
    pub fn populate_objects(&self, objects: &[Populated], group: Option<&str>) -> Vec<String> {
        let mut store = self.shared.objects.write().expect("not poisoned");
        objects
            .iter()
            .map(|o| {
                let mut attributes = key_attributes(&o.name, group);
                for name in &o.more_names {
                    attributes.push(name_attribute(name));
                }
                let (object_type, object) = if o.secret {
                    (SECRET_DATA, secret_object(&o.material))
                } else {
                    attributes.push(attribute(
                        "Cryptographic Length",
                        int(tag::ATTRIBUTE_VALUE, o.material.len() as i32 * 8),
                    ));
                    (SYMMETRIC_KEY, aes_object(&o.material))
                };
                store.insert(Object {
                    object_type,
                    object,
                    attributes,
                    state: o.state,
                })
            })
            .collect()
    }

    /// Identifiers of the objects the server holds, destroyed ones included.
    pub fn ids(&self) -> Vec<String> {
        let objects = self.shared.objects.read().expect("not poisoned");
        objects.by_id.keys().map(u64::to_string).collect()
    }

    /// The value of attribute `name` of object `id`, as registered.
    pub fn attribute_of(&self, id: &str, name: &str) -> Option<Item> {
        let objects = self.shared.objects.read().expect("not poisoned");
        let object = objects.by_id.get(&id.parse().ok()?)?;
        object
            .attributes
            .iter()
            .find(|a| a.child(tag::ATTRIBUTE_NAME).and_then(Item::text) == Some(name))
            .and_then(|a| a.child(tag::ATTRIBUTE_VALUE).cloned())
    }

    /// The State of object `id`, if the server holds it.
    pub fn state_of(&self, id: &str) -> Option<u32> {
        let objects = self.shared.objects.read().expect("not poisoned");
        objects.by_id.get(&id.parse().ok()?).map(|o| o.state)
    }

    /// Forgets every object.
    pub fn clear(&self) {
        self.shared
            .objects
            .write()
            .expect("not poisoned")
            .by_id
            .clear();
    }

    /// How many objects the server holds.
    pub fn len(&self) -> usize {
        self.shared
            .objects
            .read()
            .expect("not poisoned")
            .by_id
            .len()
    }

    /// Whether the server holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many TLS connections it has accepted.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// How many request messages it has answered.
    pub fn messages(&self) -> u64 {
        self.shared.messages.load(Ordering::Relaxed)
    }
}

impl Drop for FastPeer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wakes the blocking accept; it sees the flag and returns.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for socket in self.shared.sockets.lock().expect("not poisoned").values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// The AES-256 material [`FastPeer::populate`] gives key `i`: distinct per key, so a
/// reader can check it got the right one.
pub fn populated_material(i: usize) -> [u8; 32] {
    let mut material = [0xA5u8; 32];
    material[..8].copy_from_slice(&(i as u64).to_be_bytes());
    material
}

/// The same key as a Transparent Symmetric Key (key material is a structure with Key).
fn transparent_aes_object(raw: &Item) -> Option<Item> {
    let material = raw
        .path(&[tag::KEY_BLOCK, tag::KEY_VALUE, tag::KEY_MATERIAL])?
        .bytes()?;
    Some(st(
        tag::SYMMETRIC_KEY,
        vec![st(
            tag::KEY_BLOCK,
            vec![
                en(tag::KEY_FORMAT_TYPE, TRANSPARENT_SYMMETRIC_KEY),
                st(
                    tag::KEY_VALUE,
                    vec![st(tag::KEY_MATERIAL, vec![ttlv::bytes(tag::KEY, material)])],
                ),
                en(tag::CRYPTOGRAPHIC_ALGORITHM, ttlv::algorithm::AES),
                int(tag::CRYPTOGRAPHIC_LENGTH, material.len() as i32 * 8),
            ],
        )],
    ))
}

/// The Register template attributes of an owner-less AES key.
fn key_attributes(name: &str, group: Option<&str>) -> Vec<Item> {
    let mut attributes = vec![
        attribute("Cryptographic Usage Mask", int(tag::ATTRIBUTE_VALUE, 0x0C)),
        name_attribute(name),
    ];
    if let Some(group) = group {
        attributes.push(attribute("Object Group", text(tag::ATTRIBUTE_VALUE, group)));
    }
    attributes
}

fn accept_loop(listener: &TcpListener, config: &Arc<rustls::ServerConfig>, shared: &Arc<Shared>) {
    for socket in listener.incoming() {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let Ok(socket) = socket else { continue };
        let id = shared.connections.fetch_add(1, Ordering::Relaxed);
        let Ok(clone) = socket.try_clone() else {
            continue;
        };
        shared
            .sockets
            .lock()
            .expect("not poisoned")
            .insert(id, clone);
        let (config, state) = (config.clone(), shared.clone());
        let spawned = std::thread::Builder::new()
            .name("fast-peer-conn".into())
            .spawn(move || {
                let _ = serve(socket, config, &state);
                state.sockets.lock().expect("not poisoned").remove(&id);
            });
        if spawned.is_err() {
            shared.sockets.lock().expect("not poisoned").remove(&id);
        }
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(socket: TcpStream, config: Arc<rustls::ServerConfig>, shared: &Shared) -> Result<()> {
    socket.set_nodelay(true)?;
    let conn = rustls::ServerConnection::new(config)?;
    let mut tls = rustls::StreamOwned::new(conn, socket);
    loop {
        let mut header = [0u8; 8];
        if tls.read_exact(&mut header).is_err() || shared.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        anyhow::ensure!(len <= MAX_REQUEST, "request of {len} bytes");
        let mut message = header.to_vec();
        message.resize(8 + len, 0);
        tls.read_exact(&mut message[8..])?;
        let answer = respond(&message, shared)?;
        shared.messages.fetch_add(1, Ordering::Relaxed);
        tls.write_all(&answer)?;
        tls.flush()?;
    }
}

/// The response message to one request message.
fn respond(request: &[u8], shared: &Shared) -> Result<Vec<u8>> {
    let message = ttlv::decode(request)?;
    anyhow::ensure!(message.tag == tag::REQUEST_MESSAGE, "not a request");
    let version = |t| {
        message
            .path(&[tag::REQUEST_HEADER, tag::PROTOCOL_VERSION, t])
            .and_then(Item::integer)
    };
    let (major, minor) = (
        version(tag::PROTOCOL_VERSION_MAJOR).unwrap_or(1),
        version(tag::PROTOCOL_VERSION_MINOR).unwrap_or(4),
    );
    let quirks = &shared.quirks;
    let whole_message_refused = |message: &str| {
        let item = st(
            tag::BATCH_ITEM,
            vec![
                en(tag::RESULT_STATUS, 1),
                en(tag::RESULT_REASON, INVALID_MESSAGE),
                text(tag::RESULT_MESSAGE, message),
            ],
        );
        ttlv::response(major, minor, vec![item])
    };
    if quirks.invalid_header_version == Some((major, minor)) {
        return Ok(whole_message_refused("protocol version not supported"));
    }
    if quirks.reject_batch_options
        && message
            .path(&[tag::REQUEST_HEADER, tag::BATCH_ERROR_CONTINUATION_OPTION])
            .is_some()
    {
        return Ok(whole_message_refused(
            "Batch Error Continuation Option not supported",
        ));
    }
    let mut items = Vec::new();
    for item in message.all(tag::BATCH_ITEM) {
        let op = item
            .child(tag::OPERATION)
            .and_then(Item::enumeration)
            .unwrap_or(0);
        let id = item.child(tag::UNIQUE_BATCH_ITEM_ID).and_then(Item::bytes);
        let empty = st(tag::REQUEST_PAYLOAD, vec![]);
        let payload = item.child(tag::REQUEST_PAYLOAD).unwrap_or(&empty);
        let outcome = operate(op, payload, shared);
        let failed = outcome.is_err();
        items.push(answer(op, id, outcome));
        if failed && quirks.stop_batch_on_error {
            break;
        }
    }
    Ok(ttlv::response(major, minor, items))
}

type Outcome = std::result::Result<Vec<Item>, (u32, &'static str)>;

/// A response batch item, echoing the request item's Unique Batch Item ID.
fn answer(op: u32, id: Option<&[u8]>, outcome: Outcome) -> Item {
    let mut children = vec![en(tag::OPERATION, op)];
    if let Some(id) = id {
        children.push(ttlv::bytes(tag::UNIQUE_BATCH_ITEM_ID, id));
    }
    match outcome {
        Ok(payload) => {
            children.push(en(tag::RESULT_STATUS, 0));
            children.push(st(tag::RESPONSE_PAYLOAD, payload));
        }
        Err((reason, message)) => {
            children.push(en(tag::RESULT_STATUS, 1));
            children.push(en(tag::RESULT_REASON, reason));
            children.push(text(tag::RESULT_MESSAGE, message));
        }
    }
    st(tag::BATCH_ITEM, children)
}

fn uid_of(
    payload: &Item,
    quirks: &Quirks,
) -> std::result::Result<(String, u64), (u32, &'static str)> {
    let uid = payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::text)
        .ok_or((INVALID_FIELD, "no Unique Identifier"))?;
    let key = uid.parse().map_err(|_| not_found(quirks))?;
    Ok((uid.to_owned(), key))
}

fn not_found(quirks: &Quirks) -> (u32, &'static str) {
    (
        quirks.not_found_reason.unwrap_or(ITEM_NOT_FOUND),
        "no such object",
    )
}

/// Destroys an object as the server's Destroy does: gone, or kept with its metadata.
fn destroy(objects: &mut Objects, key: u64, quirks: &Quirks) -> bool {
    if quirks.keep_destroyed {
        match objects.by_id.get_mut(&key) {
            Some(object) if object.state != DESTROYED => {
                object.state = DESTROYED;
                true
            }
            _ => false,
        }
    } else {
        objects.by_id.remove(&key).is_some()
    }
}

fn operate(op: u32, payload: &Item, shared: &Shared) -> Outcome {
    use ttlv::op as o;
    let quirks = &shared.quirks;
    let objects = &shared.objects;
    let live = |object: &Object| object.state != DESTROYED;
    match op {
        o::DISCOVER_VERSIONS => {
            if let Some(reason) = quirks.refuse_discover_versions {
                return Err((reason, "Discover Versions refused"));
            }
            let versions = quirks
                .versions
                .clone()
                .unwrap_or_else(|| vec![(1, 4), (1, 3), (1, 2), (1, 1), (1, 0)]);
            Ok(ttlv::protocol_versions(&versions))
        }
        o::REGISTER => {
            let object_type = payload
                .child(tag::OBJECT_TYPE)
                .and_then(Item::enumeration)
                .ok_or((INVALID_FIELD, "no Object Type"))?;
            let object_tag = match object_type {
                SYMMETRIC_KEY => tag::SYMMETRIC_KEY,
                SECRET_DATA => tag::SECRET_DATA,
                _ => return Err((OPERATION_NOT_SUPPORTED, "object type not supported")),
            };
            let object = payload
                .child(object_tag)
                .cloned()
                .ok_or((INVALID_FIELD, "no object"))?;
            let attributes = payload
                .child(tag::TEMPLATE_ATTRIBUTE)
                .map(|t| t.all(tag::ATTRIBUTE).into_iter().cloned().collect())
                .unwrap_or_default();
            let uid = objects.write().expect("not poisoned").insert(Object {
                object_type,
                object,
                attributes,
                state: if quirks.active_at_register {
                    ACTIVE
                } else {
                    PRE_ACTIVE
                },
            });
            Ok(uid_payload(&uid))
        }
        o::ACTIVATE | o::REVOKE => {
            let (uid, key) = uid_of(payload, quirks)?;
            let mut objects = objects.write().expect("not poisoned");
            let object = objects
                .by_id
                .get_mut(&key)
                .filter(|o| live(o))
                .ok_or(not_found(quirks))?;
            if op == o::ACTIVATE {
                if object.state != PRE_ACTIVE {
                    return Err((WRONG_KEY_LIFECYCLE_STATE, "DENIED"));
                }
                object.state = ACTIVE;
            } else {
                object.state = DEACTIVATED;
            }
            Ok(uid_payload(&uid))
        }
        o::DESTROY => {
            let (uid, key) = uid_of(payload, quirks)?;
            let mut objects = objects.write().expect("not poisoned");
            if quirks.refuse_destroy_active
                && objects.by_id.get(&key).is_some_and(|o| o.state == ACTIVE)
            {
                return Err((
                    PERMISSION_DENIED,
                    "Object is active and cannot be destroyed.",
                ));
            }
            if !destroy(&mut objects, key, quirks) {
                return Err(not_found(quirks));
            }
            Ok(uid_payload(&uid))
        }
        o::LOCATE => locate(payload, shared),
        o::GET => {
            let (uid, key) = uid_of(payload, quirks)?;
            let objects = objects.read().expect("not poisoned");
            let object = objects.by_id.get(&key).ok_or(not_found(quirks))?;
            if !live(object) {
                return Err((OBJECT_DESTROYED, "the object is destroyed"));
            }
            let wanted = payload
                .child(tag::KEY_FORMAT_TYPE)
                .and_then(Item::enumeration);
            let body = if object.object_type == SYMMETRIC_KEY && quirks.transparent_keys {
                if wanted.is_some_and(|f| f != TRANSPARENT_SYMMETRIC_KEY) {
                    return Err((
                        KEY_FORMAT_TYPE_NOT_SUPPORTED,
                        "the key is not held in that format",
                    ));
                }
                transparent_aes_object(&object.object).ok_or((INVALID_FIELD, "not a raw key"))?
            } else {
                if object.object_type == SYMMETRIC_KEY && wanted.is_some_and(|f| f != RAW) {
                    return Err((KEY_FORMAT_TYPE_NOT_SUPPORTED, "the key is held Raw"));
                }
                object.object.clone()
            };
            Ok(vec![
                en(tag::OBJECT_TYPE, object.object_type),
                text(tag::UNIQUE_IDENTIFIER, &uid),
                body,
            ])
        }
        o::GET_ATTRIBUTES => {
            let (uid, key) = uid_of(payload, quirks)?;
            let objects = objects.read().expect("not poisoned");
            let object = objects.by_id.get(&key).ok_or(not_found(quirks))?;
            let wanted: Vec<&str> = payload
                .all(tag::ATTRIBUTE_NAME)
                .into_iter()
                .filter_map(Item::text)
                .collect();
            let state = attribute("State", en(tag::ATTRIBUTE_VALUE, object.state));
            let state = (!quirks.omit_state).then_some(&state);
            let mut answer = uid_payload(&uid);
            answer.extend(
                object
                    .attributes
                    .iter()
                    .chain(state)
                    .filter(|a| {
                        wanted.is_empty()
                            || a.child(tag::ATTRIBUTE_NAME)
                                .and_then(Item::text)
                                .is_some_and(|n| wanted.contains(&n))
                    })
                    .cloned(),
            );
            Ok(answer)
        }
        _ => Err((OPERATION_NOT_SUPPORTED, "operation not supported")),
    }
}

/// Identifiers of the objects matching every filter attribute (destroyed ones never), in
/// creation order (newest first in every other answer, with `reorder`), after Offset Items
/// and up to Maximum Items, as far as the quirks allow.
fn locate(payload: &Item, shared: &Shared) -> Outcome {
    let quirks = &shared.quirks;
    let filters: Vec<(&str, &Item)> = payload
        .all(tag::ATTRIBUTE)
        .into_iter()
        .filter_map(|a| {
            Some((
                a.child(tag::ATTRIBUTE_NAME)?.text()?,
                a.child(tag::ATTRIBUTE_VALUE)?,
            ))
        })
        .collect();
    let object_type = filters
        .iter()
        .find(|(name, _)| *name == "Object Type")
        .and_then(|(_, v)| v.enumeration());
    if object_type == Some(SECRET_DATA) {
        if let Some(reason) = quirks.refuse_secret_data {
            return Err((reason, "Secret Data is not supported"));
        }
    }
    let offset = if quirks.ignore_offset {
        0
    } else {
        payload
            .child(tag::OFFSET_ITEMS)
            .and_then(Item::integer)
            .unwrap_or(0)
            .max(0) as usize
    };
    let maximum = payload
        .child(tag::MAXIMUM_ITEMS)
        .and_then(Item::integer)
        .map_or(usize::MAX, |m| m.max(0) as usize)
        .min(quirks.locate_cap.unwrap_or(usize::MAX));
    let answered = shared.locates.fetch_add(1, Ordering::Relaxed) as usize;
    let mut objects = shared.objects.write().expect("not poisoned");
    let matches = |object: &Object| {
        object.state != DESTROYED
            && filters.iter().all(|(name, value)| match *name {
                "Object Type" => value.enumeration() == Some(object.object_type),
                "State" => value.enumeration() == Some(object.state),
                _ => object.attributes.iter().any(|a| {
                    a.child(tag::ATTRIBUTE_NAME).and_then(Item::text) == Some(*name)
                        && a.child(tag::ATTRIBUTE_VALUE) == Some(*value)
                }),
            })
    };
    let mut matching: Vec<u64> = objects
        .by_id
        .iter()
        .filter(|(_, object)| matches(object))
        .map(|(id, _)| *id)
        .collect();
    if quirks.reorder && answered % 2 == 1 {
        matching.reverse();
    }
    let total = matching.len();
    let page: Vec<Item> = matching
        .into_iter()
        .skip(offset)
        .take(maximum)
        .map(|id| text(tag::UNIQUE_IDENTIFIER, &id.to_string()))
        .collect();
    for (after, victims) in [
        quirks
            .destroy_after_locates
            .as_ref()
            .map(|(n, id)| (*n, vec![id.clone()])),
        quirks.destroy_after_listing.clone(),
    ]
    .into_iter()
    .flatten()
    {
        if answered + 1 == after {
            for victim in victims {
                if let Ok(key) = victim.parse() {
                    destroy(&mut objects, key, quirks);
                }
            }
        }
    }
    let located = match quirks.located_items {
        LocatedItems::Absent => None,
        LocatedItems::Total => Some(total),
        LocatedItems::PageSize => Some(page.len()),
    };
    let mut answer: Vec<Item> = located
        .map(|n| int(tag::LOCATED_ITEMS, n as i32))
        .into_iter()
        .collect();
    answer.extend(page);
    Ok(answer)
}
