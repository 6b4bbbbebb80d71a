//! A fast scripted KMIP server on 127.0.0.1 for benchmarks: mutual TLS, objects in memory, minimal answers to the operations the keyring sends.
//!
//! It answers Discover Versions, Register, Activate, Revoke, Destroy, Locate (Object Type
//! and attribute filters, Maximum Items, Offset Items), Get and Get Attributes, with the
//! tests' own TTLV codec, one thread per connection. It checks little: it exists so that
//! what a benchmark measures is the client, not a slow server.

use crate::pki::Pki;
use crate::ttlv::{self, en, int, st, tag, text, Item};
use anyhow::{Context, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

/// Object Type enumeration values (KMIP 1.4 section 9.1.3.2.12).
const SYMMETRIC_KEY: u32 = 0x02;
const SECRET_DATA: u32 = 0x07;
/// State values (9.1.3.2.17).
const PRE_ACTIVE: u32 = 1;
const ACTIVE: u32 = 2;
const DEACTIVATED: u32 = 4;
/// Result Reason values (9.1.3.2.29).
const ITEM_NOT_FOUND: u32 = 0x01;
const INVALID_FIELD: u32 = 0x07;
const OPERATION_NOT_SUPPORTED: u32 = 0x05;
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
        let dir = tempfile::Builder::new().prefix("fast-peer-").tempdir()?;
        let pki = Pki::generate(dir.path())?;
        let certs =
            CertificateDer::pem_file_iter(&pki.server_cert)?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&pki.server_key)?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(&pki.ca)? {
            roots.add(ca?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // Mutual TLS like a real KMIP server, so handshakes cost what they cost in production.
        let clients = rustls::server::WebPkiClientVerifier::builder_with_provider(
            roots.into(),
            provider.clone(),
        )
        .build()?;
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(clients)
                .with_single_cert(certs, key)?,
        );
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fast peer")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
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
                objects.insert(Object {
                    object_type: SYMMETRIC_KEY,
                    object: aes_object(&populated_material(i)),
                    attributes: key_attributes(&format!("{prefix}{i}"), group),
                    state: ACTIVE,
                })
            })
            .collect()
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

/// A Raw AES Symmetric Key structure, as the keyring registers one.
fn aes_object(material: &[u8]) -> Item {
    st(
        tag::SYMMETRIC_KEY,
        vec![st(
            tag::KEY_BLOCK,
            vec![
                en(tag::KEY_FORMAT_TYPE, 1),
                st(
                    tag::KEY_VALUE,
                    vec![ttlv::bytes(tag::KEY_MATERIAL, material)],
                ),
                en(tag::CRYPTOGRAPHIC_ALGORITHM, 3),
                int(tag::CRYPTOGRAPHIC_LENGTH, material.len() as i32 * 8),
            ],
        )],
    )
}

fn attribute(name: &str, value: Item) -> Item {
    st(tag::ATTRIBUTE, vec![text(tag::ATTRIBUTE_NAME, name), value])
}

/// The Register template attributes of an owner-less AES key.
fn key_attributes(name: &str, group: Option<&str>) -> Vec<Item> {
    let mut attributes = vec![
        attribute("Cryptographic Usage Mask", int(tag::ATTRIBUTE_VALUE, 0x0C)),
        attribute(
            "Name",
            st(
                tag::ATTRIBUTE_VALUE,
                vec![text(tag::NAME_VALUE, name), en(tag::NAME_TYPE, 1)],
            ),
        ),
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
    let items = message
        .all(tag::BATCH_ITEM)
        .into_iter()
        .map(|item| {
            let op = item
                .child(tag::OPERATION)
                .and_then(Item::enumeration)
                .unwrap_or(0);
            let id = item.child(tag::UNIQUE_BATCH_ITEM_ID).and_then(Item::bytes);
            let empty = st(tag::REQUEST_PAYLOAD, vec![]);
            let payload = item.child(tag::REQUEST_PAYLOAD).unwrap_or(&empty);
            answer(op, id, operate(op, payload, shared))
        })
        .collect();
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

fn uid_of(payload: &Item) -> std::result::Result<(String, u64), (u32, &'static str)> {
    let uid = payload
        .child(tag::UNIQUE_IDENTIFIER)
        .and_then(Item::text)
        .ok_or((INVALID_FIELD, "no Unique Identifier"))?;
    let key = uid
        .parse()
        .map_err(|_| (ITEM_NOT_FOUND, "no such object"))?;
    Ok((uid.to_owned(), key))
}

fn uid_payload(uid: String) -> Vec<Item> {
    vec![text(tag::UNIQUE_IDENTIFIER, &uid)]
}

fn operate(op: u32, payload: &Item, shared: &Shared) -> Outcome {
    use ttlv::op as o;
    let objects = &shared.objects;
    match op {
        o::DISCOVER_VERSIONS => Ok(ttlv::protocol_versions(&[
            (1, 4),
            (1, 3),
            (1, 2),
            (1, 1),
            (1, 0),
        ])),
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
                state: PRE_ACTIVE,
            });
            Ok(uid_payload(uid))
        }
        o::ACTIVATE | o::REVOKE => {
            let (uid, key) = uid_of(payload)?;
            let mut objects = objects.write().expect("not poisoned");
            let object = objects
                .by_id
                .get_mut(&key)
                .ok_or((ITEM_NOT_FOUND, "no such object"))?;
            object.state = if op == o::ACTIVATE {
                ACTIVE
            } else {
                DEACTIVATED
            };
            Ok(uid_payload(uid))
        }
        o::DESTROY => {
            let (uid, key) = uid_of(payload)?;
            objects
                .write()
                .expect("not poisoned")
                .by_id
                .remove(&key)
                .ok_or((ITEM_NOT_FOUND, "no such object"))?;
            Ok(uid_payload(uid))
        }
        o::LOCATE => Ok(locate(payload, &objects.read().expect("not poisoned"))),
        o::GET => {
            let (uid, key) = uid_of(payload)?;
            let objects = objects.read().expect("not poisoned");
            let object = objects
                .by_id
                .get(&key)
                .ok_or((ITEM_NOT_FOUND, "no such object"))?;
            Ok(vec![
                en(tag::OBJECT_TYPE, object.object_type),
                text(tag::UNIQUE_IDENTIFIER, &uid),
                object.object.clone(),
            ])
        }
        o::GET_ATTRIBUTES => {
            let (uid, key) = uid_of(payload)?;
            let objects = objects.read().expect("not poisoned");
            let object = objects
                .by_id
                .get(&key)
                .ok_or((ITEM_NOT_FOUND, "no such object"))?;
            let wanted: Vec<&str> = payload
                .all(tag::ATTRIBUTE_NAME)
                .into_iter()
                .filter_map(Item::text)
                .collect();
            let state = attribute("State", en(tag::ATTRIBUTE_VALUE, object.state));
            let mut answer = uid_payload(uid);
            answer.extend(
                object
                    .attributes
                    .iter()
                    .chain(std::iter::once(&state))
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

/// Identifiers of the objects matching every filter attribute, in creation order, after
/// Offset Items and up to Maximum Items.
fn locate(payload: &Item, objects: &Objects) -> Vec<Item> {
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
    let offset = payload
        .child(tag::OFFSET_ITEMS)
        .and_then(Item::integer)
        .unwrap_or(0)
        .max(0) as usize;
    let maximum = payload
        .child(tag::MAXIMUM_ITEMS)
        .and_then(Item::integer)
        .map_or(usize::MAX, |m| m.max(0) as usize);
    let matches = |object: &Object| {
        filters.iter().all(|(name, value)| {
            if *name == "Object Type" {
                return value.enumeration() == Some(object.object_type);
            }
            object.attributes.iter().any(|a| {
                a.child(tag::ATTRIBUTE_NAME).and_then(Item::text) == Some(*name)
                    && a.child(tag::ATTRIBUTE_VALUE) == Some(*value)
            })
        })
    };
    objects
        .by_id
        .iter()
        .filter(|(_, object)| matches(object))
        .skip(offset)
        .take(maximum)
        .map(|(id, _)| text(tag::UNIQUE_IDENTIFIER, &id.to_string()))
        .collect()
}
