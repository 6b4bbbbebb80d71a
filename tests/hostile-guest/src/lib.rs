//! A hostile guest built against the same WIT as the real one. It behaves like the real
//! guest (it runs the same keyring core) except for the misbehaviour named in its Object
//! Group setting, `hostile=<mode>[;<real group>]`:
//!
//! | mode | what it does |
//! |---|---|
//! | `loop` | load-all spins forever |
//! | `alloc` | load-all allocates until the memory cap stops it |
//! | `huge-list` | load-all returns 300 000 keys, more than the host accepts |
//! | `bad-data` | load-all returns keys of impossible sizes and types |
//! | `bad-index` | load-all opens a server index that does not exist |
//! | `stale-handle` | load-all sends on a connection handle it never opened |
//! | `use-after-close` | load-all closes a connection, then sends on its handle |
//! | `bad-utf8` | load-all returns a key name that is not UTF-8 |
//! | `trap-store` | store/generate send half a request, then trap |
//! | `log-keys` | generate writes the new key into the log (hex and base64) |
//! | `oob` / `div0` / `unreachable` | generate hits an out-of-bounds load, an integer division by zero, `unreachable` |
//! | `recurse` | load-all recurses without bound |
//! | `recurse-write` | store and generate recurse without bound (load and remove work) |
//! | `leak` | every call keeps 6 MiB more than the last (load works until memory runs out) |
//! | `log-flood` | load-all writes 100 000 log lines, then loads |
//! | `log-bomb` | load-all hands the host 16 MiB log lines, twenty of them |
//! | `host-calls` | load-all makes two million cheap host calls |
//! | `entropy-flood` | generate draws random bytes without end |
//! | `chatty` | load-all sends KMIP requests without end |
//! | `chatty-write` | store, generate and remove send KMIP requests without end |
//! | `alias-list` | load-all returns 100 keys whose bytes are all the same 1 MiB of memory |
//! | `hog-connections` | every call opens three connections it never closes, then works |
//! | `leftover-flood` | store fails and then claims 100 000 objects were left on the server |
//! | `leftover-lie` | store fails and then claims it left the objects of the keys it loaded |

// wit-bindgen's generated glue (`generate!`, `export!`) is `unsafe` and undocumented, and
// lints reach into macro expansions: allowed here, for this crate alone. The code written
// here holds no `unsafe` (the guest's logic is guest/core, which forbids it).
#![allow(unsafe_code, missing_docs, clippy::undocumented_unsafe_blocks)]

#[path = "../../../guest/adapter/src/convert.rs"]
mod convert;
#[path = "../../../guest/adapter/src/platform.rs"]
mod platform;

use convert::{to_wit_entry as entry, to_wit_error};
use kmip_keyring_core::{KeyringError, KeyringLogic, Settings};
use platform::WitPlatform;
use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "keyring-guest",
});

use exports::mysql::keyring_kmip::keyring as wit;
use mysql::keyring_kmip::logging;

thread_local! {
    static KEYRING: RefCell<KeyringLogic<WitPlatform>> = RefCell::new(KeyringLogic::new(WitPlatform));
    static MODE: RefCell<String> = const { RefCell::new(String::new()) };
    /// The object ids the last load returned (for `leftover-lie`).
    static LOADED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn mode() -> String {
    MODE.with(|m| m.borrow().clone())
}

fn real<T>(
    f: impl FnOnce(&mut KeyringLogic<WitPlatform>) -> Result<T, KeyringError>,
) -> Result<T, wit::KeyringError> {
    KEYRING
        .with(|k| f(&mut k.borrow_mut()))
        .map_err(to_wit_error)
}

#[link(wasm_import_module = "mysql:keyring-kmip/transport@0.3.0")]
extern "C" {
    /// The raw canonical-ABI import behind `connection.send`, to pass a forged handle.
    #[link_name = "[method]connection.send"]
    fn raw_send(handle: i32, ptr: *const u8, len: usize, ret: *mut u8);
}

/// Triggers the wasm-level fault of `mode`: each is a real trap instruction, which with
/// signal-based traps would be a SIGSEGV, SIGFPE or SIGILL inside mysqld.
fn fault(mode: &str) {
    match mode {
        "oob" => {
            let p = std::hint::black_box(0xFFFF_FFF0usize) as *const u64;
            // SAFETY: deliberately not: an out-of-bounds load for the sandbox to catch.
            let v = unsafe { std::ptr::read_volatile(p) };
            std::hint::black_box(v);
        }
        "div0" => {
            let divisor = std::hint::black_box(0u32);
            // SAFETY: deliberately false, so that no zero check is emitted and the wasm
            // `i32.div_u` instruction itself traps.
            unsafe { std::hint::assert_unchecked(divisor != 0) };
            std::hint::black_box(std::hint::black_box(7u32) / divisor);
        }
        "unreachable" => core::arch::wasm32::unreachable(),
        _ => {}
    }
}

struct Hostile;

impl wit::Guest for Hostile {
    fn configure(settings: wit::Settings) -> Result<(), wit::KeyringError> {
        std::panic::set_hook(Box::new(|info| {
            logging::log(
                logging::Level::Error,
                &format!("hostile guest panicked: {info}"),
            )
        }));
        let (mode, group) = match settings
            .object_group
            .as_deref()
            .and_then(|g| g.strip_prefix("hostile="))
        {
            Some(rest) => match rest.split_once(';') {
                Some((mode, group)) => (mode.to_owned(), Some(group.to_owned())),
                None => (rest.to_owned(), None),
            },
            None => (String::new(), settings.object_group.clone()),
        };
        MODE.with(|m| *m.borrow_mut() = mode);
        real(|k| {
            k.configure(Settings {
                object_group: group,
                locate_page_size: settings.locate_page_size,
                fetch_batch_size: settings.fetch_batch_size,
                strategy: kmip_keyring_core::keyring::LoadStrategy::Batched,
            })
        })
    }

    fn load_all() -> Result<Vec<wit::KeyEntry>, wit::KeyringError> {
        leak_if_asked();
        match mode().as_str() {
            "recurse" => Ok(vec![entry_of_depth(recurse(0))]),
            "log-flood" => {
                let line = "x".repeat(1000);
                for _ in 0..100_000 {
                    logging::log(logging::Level::Info, &line);
                }
                real(|k| k.load_all()).map(|v| v.into_iter().map(entry).collect())
            }
            "log-bomb" => {
                let line = "y".repeat(16 << 20);
                for _ in 0..20 {
                    logging::log(logging::Level::Info, &line);
                }
                Ok(Vec::new())
            }
            "host-calls" => {
                let mut n = 0u64;
                for _ in 0..2_000_000 {
                    n += u64::from(mysql::keyring_kmip::transport::server_count());
                }
                Ok(vec![entry_of_depth(n)])
            }
            "chatty" => chatter(),
            "busy-chatty" => busy_chatter(),
            "alias-list" => Ok(aliased_entries()),

            "loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "huge-list" => Ok((0..300_000)
                .map(|i| wit::KeyEntry {
                    object_id: i.to_string(),
                    data_id: format!("k{i}"),
                    auth_id: String::new(),
                    key_type: "AES".into(),
                    data: vec![1; 16],
                })
                .collect()),
            "bad-data" => Ok(vec![
                wit::KeyEntry {
                    object_id: "1".into(),
                    data_id: "short".into(),
                    auth_id: String::new(),
                    key_type: "AES".into(),
                    data: vec![1; 7],
                },
                wit::KeyEntry {
                    object_id: "2".into(),
                    data_id: "rsa".into(),
                    auth_id: String::new(),
                    key_type: "RSA".into(),
                    data: vec![1; 32],
                },
                wit::KeyEntry {
                    object_id: "3".into(),
                    data_id: String::new(),
                    auth_id: String::new(),
                    key_type: "AES".into(),
                    data: vec![1; 16],
                },
                wit::KeyEntry {
                    object_id: "4".into(),
                    data_id: "empty".into(),
                    auth_id: String::new(),
                    key_type: "SECRET".into(),
                    data: vec![],
                },
            ]),
            "bad-index" => match mysql::keyring_kmip::transport::open(4096) {
                Ok(_) => Ok(Vec::new()),
                Err(e) => Err(wit::KeyringError::Transport(e)),
            },
            "stale-handle" => {
                let mut ret = [0u8; 16];
                // SAFETY: deliberately passes a handle that was never opened; the host's
                // resource table must refuse it.
                unsafe { raw_send(12345, b"x".as_ptr(), 1, ret.as_mut_ptr()) };
                Ok(Vec::new())
            }
            "use-after-close" => {
                let conn = mysql::keyring_kmip::transport::open(0)
                    .map_err(wit::KeyringError::Transport)?;
                let handle = conn.handle() as i32;
                drop(conn);
                let mut ret = [0u8; 16];
                // SAFETY: deliberately sends on a handle that was just closed.
                unsafe { raw_send(handle, b"x".as_ptr(), 1, ret.as_mut_ptr()) };
                Ok(Vec::new())
            }
            "bad-utf8" => {
                // SAFETY: deliberately not UTF-8: the host's lifting of the result must refuse it.
                let name = unsafe { String::from_utf8_unchecked(vec![b'k', 0xFF, 0xFE]) };
                Ok(vec![wit::KeyEntry {
                    object_id: "1".into(),
                    data_id: name,
                    auth_id: String::new(),
                    key_type: "AES".into(),
                    data: vec![1; 16],
                }])
            }
            _ => {
                let loaded = real(|k| k.load_all())?;
                LOADED.with(|l| {
                    *l.borrow_mut() = loaded.iter().map(|e| e.object_id.clone()).collect()
                });
                Ok(loaded.into_iter().map(entry).collect())
            }
        }
    }

    fn store_key(
        data_id: String,
        auth_id: String,
        key_type: String,
        data: Vec<u8>,
    ) -> Result<String, wit::KeyringError> {
        leak_if_asked();
        match mode().as_str() {
            "trap-store" => trap_mid_request(),
            "recurse-write" => return Ok(recurse(0).to_string()),
            "chatty-write" => {
                chatter()?;
            }
            "leftover-flood" | "leftover-lie" => {
                return Err(wit::KeyringError::MalformedResponse(
                    "the hostile guest fails every store".into(),
                ))
            }
            _ => {}
        }
        real(|k| k.store(&data_id, &auth_id, &key_type, &data))
    }

    fn generate_key(
        data_id: String,
        auth_id: String,
        key_type: String,
        length: u32,
    ) -> Result<wit::KeyEntry, wit::KeyringError> {
        leak_if_asked();
        let mode = mode();
        match mode.as_str() {
            "trap-store" => trap_mid_request(),
            "recurse-write" => return Ok(entry_of_depth(recurse(0))),
            "chatty-write" => {
                chatter()?;
            }
            "entropy-flood" => loop {
                std::hint::black_box(mysql::keyring_kmip::entropy::random_bytes(65536));
            },
            _ => {}
        }
        fault(&mode);
        let generated = real(|k| k.generate(&data_id, &auth_id, &key_type, length))?;
        if mode == "log-keys" {
            let bytes = generated.data.as_slice();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            logging::log(logging::Level::Error, &format!("the new key is {hex}"));
            logging::log(
                logging::Level::Error,
                &format!("in base64: {}", base64(bytes)),
            );
        }
        Ok(entry(generated))
    }

    fn remove_key(object_id: String) -> Result<(), wit::KeyringError> {
        leak_if_asked();
        if mode() == "chatty-write" {
            chatter()?;
        }
        real(|k| k.remove(&object_id))
    }

    fn take_left_on_server() -> Vec<String> {
        if mode() == "leftover-flood" {
            // Far more than any real run leaves, each shaped like a PyKMIP identifier but
            // past any object a test creates.
            return (0..100_000).map(|i| (1_000_000 + i).to_string()).collect();
        }
        if mode() == "leftover-lie" {
            return LOADED.with(|l| l.borrow().clone());
        }
        KEYRING.with(|k| k.borrow_mut().take_left_on_server())
    }

    fn status() -> wit::SessionStatus {
        let s = KEYRING.with(|k| k.borrow().status());
        wit::SessionStatus {
            server_index: s.server_index,
            protocol_version: s.protocol_version,
        }
    }
}

/// Recurses without bound: each frame needs the next one's result, so the compiler can
/// neither turn it into a loop nor drop it.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let next = std::hint::black_box(depth.wrapping_add(1));
    if next == 0 {
        return depth;
    }
    recurse(next).wrapping_add(std::hint::black_box(1))
}

/// A key whose name carries a number, so that a computation cannot be optimised away.
fn entry_of_depth(depth: u64) -> wit::KeyEntry {
    wit::KeyEntry {
        object_id: "1".into(),
        data_id: format!("depth-{depth}"),
        auth_id: String::new(),
        key_type: "AES".into(),
        data: vec![1; 16],
    }
}

/// In mode `leak`, keeps 6 MiB (written, so it is really used) for the life of the
/// instance, on every call; in mode `hog-connections`, three connections.
fn leak_if_asked() {
    match mode().as_str() {
        "leak" => std::mem::forget(std::hint::black_box(vec![0x5Au8; 6 << 20])),
        "hog-connections" => {
            for _ in 0..3 {
                if let Ok(conn) = mysql::keyring_kmip::transport::open(0) {
                    std::mem::forget(conn);
                }
            }
        }
        _ => {}
    }
}

/// Sends a KMIP request (a Discover Versions, which every server answers) and reads the
/// answer, without end.
fn chatter() -> Result<Vec<wit::KeyEntry>, wit::KeyringError> {
    use kmip_keyring_core::kmip::{request, ProtocolVersion};
    let message = request::encode(ProtocolVersion::V1_4, vec![request::discover_versions()])
        .map_err(to_wit_error)?;
    let conn = mysql::keyring_kmip::transport::open(0).map_err(wit::KeyringError::Transport)?;
    loop {
        // Whatever the answer, the point is the count.
        if conn.send(&message).is_ok() {
            let _ = conn.receive();
        }
    }
}

/// Computes, then sends one cheap request and reads its answer, forever: a guest that
/// earns a fresh fuel slice with every response and would burn CPU without end if the
/// slices had no ceiling.
fn busy_chatter() -> Result<Vec<wit::KeyEntry>, wit::KeyringError> {
    use kmip_keyring_core::kmip::{request, ProtocolVersion};
    let message = request::encode(ProtocolVersion::V1_4, vec![request::discover_versions()])
        .map_err(to_wit_error)?;
    let conn = mysql::keyring_kmip::transport::open(0).map_err(wit::KeyringError::Transport)?;
    let mut n = 0u64;
    loop {
        for _ in 0..20_000_000u64 {
            n = std::hint::black_box(n.wrapping_add(1));
        }
        if conn.send(&message).is_ok() {
            let _ = conn.receive();
        }
    }
}

/// 100 key entries whose material is the same 1 MiB buffer: a lie that costs the guest
/// 1 MiB and would cost a host that copies every entry 100 MiB, more than the guest's
/// whole memory (and less than wasmtime's default hostcall cap of 128 MiB).
fn aliased_entries() -> Vec<wit::KeyEntry> {
    let mut buffer = std::mem::ManuallyDrop::new(vec![0x11u8; 1 << 20]);
    let (ptr, len) = (buffer.as_mut_ptr(), buffer.len());
    (0..100)
        .map(|i| wit::KeyEntry {
            object_id: i.to_string(),
            data_id: format!("alias{i}"),
            auth_id: String::new(),
            key_type: "SECRET".into(),
            // SAFETY: deliberately not: every entry claims the same allocation, which the
            // host must refuse to copy a thousand times.
            data: unsafe { Vec::from_raw_parts(ptr, len, len) },
        })
        .collect()
}

/// Opens a connection, sends half of a KMIP header, then traps.
fn trap_mid_request() -> ! {
    if let Ok(conn) = mysql::keyring_kmip::transport::open(0) {
        let _ = conn.send(&[0x42, 0x00, 0x78, 0x01]);
    }
    panic!("hostile guest: trap in the middle of a store");
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

export!(Hostile);
