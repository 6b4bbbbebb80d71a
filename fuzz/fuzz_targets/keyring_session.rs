// Fuzz target: KeyringLogic (configure, load_all, store or generate, remove) against a KMIP server whose every answer comes from the fuzz input.

//! Input layout:
//! - byte 0, flags: bits 0-1 vendor profile (generic, Vault, CipherTrust, Fortanix);
//!   bit 2 an Object Group; bit 3 two servers; bit 4 the first server refuses connections;
//!   bit 5 SECRET instead of AES; bit 6 generate instead of store;
//! - byte 1, sizes: Locate page size 1 + low nibble, fetch batch size 1 + high nibble;
//! - then response messages, each a big-endian u16 length and that many bytes (a short
//!   tail is taken as it is). Length 0xFFFF stands for a transport timeout, 0xFFFE for a
//!   closed connection. When the messages run out, every receive reports a closed
//!   connection, so each run ends.

#![no_main]

use kmip_keyring_core::keyring::LoadStrategy;
use kmip_keyring_core::vendor::{CIPHERTRUST, FORTANIX, GENERIC, VAULT};
use kmip_keyring_core::{
    Connection, KeyringError, KeyringLogic, LogLevel, Platform, Settings, TransportError,
};
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

type Answer = Result<Vec<u8>, TransportError>;

/// The scripted server: the answers still to give.
struct Script {
    answers: VecDeque<Answer>,
}

#[derive(Clone)]
struct FuzzPlatform {
    script: Rc<RefCell<Script>>,
    servers: u32,
    first_refuses: bool,
}

struct FuzzConnection {
    index: u32,
    script: Rc<RefCell<Script>>,
}

impl Connection for FuzzConnection {
    fn server_index(&self) -> u32 {
        self.index
    }

    fn send(&mut self, message: &[u8]) -> Result<(), TransportError> {
        // Requests are the code under test's output; they must at least be framed.
        assert!(message.len() >= 8, "a request shorter than a TTLV header");
        Ok(())
    }

    fn receive(&mut self) -> Result<Vec<u8>, TransportError> {
        self.script
            .borrow_mut()
            .answers
            .pop_front()
            .unwrap_or(Err(TransportError::Closed))
    }
}

impl Platform for FuzzPlatform {
    type Conn = FuzzConnection;

    fn server_count(&self) -> u32 {
        self.servers
    }

    fn open(&mut self, index: u32) -> Result<FuzzConnection, TransportError> {
        assert!(
            index < self.servers,
            "opened server {index} of {}",
            self.servers
        );
        if index == 0 && self.first_refuses {
            return Err(TransportError::Refused("fuzz: server 0 is down".into()));
        }
        Ok(FuzzConnection {
            index,
            script: self.script.clone(),
        })
    }

    fn log(&self, _level: LogLevel, message: &str) {
        let _ = message.len();
    }

    fn random_bytes(&mut self, buf: &mut [u8]) {
        // Deterministic, so that a crashing input reproduces.
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31) ^ 0xa5;
        }
    }
}

/// Splits the message part of the input into answers.
fn answers(mut rest: &[u8]) -> VecDeque<Answer> {
    let mut out = VecDeque::new();
    while !rest.is_empty() {
        if rest.len() < 2 {
            out.push_back(Ok(rest.to_vec()));
            break;
        }
        let len = u16::from_be_bytes([rest[0], rest[1]]);
        rest = &rest[2..];
        match len {
            0xFFFF => out.push_back(Err(TransportError::Timeout("fuzz: deadline".into()))),
            0xFFFE => out.push_back(Err(TransportError::Closed)),
            n => {
                let n = usize::from(n).min(rest.len());
                out.push_back(Ok(rest[..n].to_vec()));
                rest = &rest[n..];
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (flags, sizes, messages) = match data {
        [flags, sizes, rest @ ..] => (*flags, *sizes, rest),
        _ => return,
    };
    let profile = [GENERIC, VAULT, CIPHERTRUST, FORTANIX][usize::from(flags & 0b11)];
    let platform = FuzzPlatform {
        script: Rc::new(RefCell::new(Script {
            answers: answers(messages),
        })),
        servers: if flags & 0b1000 != 0 { 2 } else { 1 },
        first_refuses: flags & 0b1_0000 != 0,
    };
    let mut logic = KeyringLogic::with_profile(platform, profile);

    // Nothing may happen before configure.
    assert!(matches!(logic.load_all(), Err(KeyringError::NotConfigured)));
    logic
        .configure(Settings {
            object_group: (flags & 0b100 != 0).then(|| "fuzz_group".to_owned()),
            // Pages overlap by one identifier, so 2 is the least a listing can use.
            locate_page_size: 2 + u32::from(sizes & 0x0f),
            fetch_batch_size: 1 + u32::from(sizes >> 4),
            strategy: LoadStrategy::default(),
        })
        .expect("valid settings are accepted");

    match logic.load_all() {
        Ok(entries) => {
            for entry in &entries {
                // load_all skips objects without a Name or key material.
                assert!(!entry.data_id.is_empty(), "a loaded key without data_id");
                assert!(
                    !entry.data.as_slice().is_empty(),
                    "a loaded key without data"
                );
                assert!(
                    !entry.object_id.is_empty(),
                    "a loaded key without object id"
                );
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    let (key_type, length) = if flags & 0b10_0000 != 0 {
        ("SECRET", 16)
    } else {
        ("AES", 32)
    };
    let stored = if flags & 0b100_0000 != 0 {
        logic
            .generate("fuzz_key", "fuzz@localhost", key_type, length)
            .map(|entry| {
                assert_eq!(entry.data.as_slice().len(), length as usize);
                entry.object_id
            })
    } else {
        let material = vec![0x42; length as usize];
        logic.store("fuzz_key", "fuzz@localhost", key_type, &material)
    };
    let object_id = match stored {
        Ok(id) => id,
        Err(error) => {
            let _ = error.to_string();
            "fuzz-object".to_owned()
        }
    };
    if let Err(error) = logic.remove(&object_id) {
        let _ = error.to_string();
    }
    let status = logic.status();
    if let Some(index) = status.server_index {
        assert!(index < 2, "status names server {index}");
    }
});
