//! What the multi-threaded tests (stress, soak) check the component against: key
//! identities, material that is a pure function of the name, a seeded random stream, and
//! the component's whole contents read through its C services.

use crate::loader::LoadedComponent;
use anyhow::{anyhow, ensure, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A key's identity as MySQL gives it: (data_id, auth_id), "" for no owner.
pub type Id = (String, String);

/// What a key must read back as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// "AES" or "SECRET".
    pub key_type: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Tiny xorshift64: a seeded, reproducible operation mix without another crate.
pub struct Xorshift(u64);

impl Xorshift {
    /// A stream for `seed`; any seed, zero included, gives a usable stream.
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's fixed point; mix the seed so small seeds differ at once.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The material stored under `name`: a pure function of the name, so any reader can
/// recompute what it must see and a read mixing two keys' bytes cannot pass.
pub fn material(name: &str) -> Expected {
    let digest = |i: u8| {
        Sha256::new()
            .chain_update(name)
            .chain_update([i])
            .finalize()
    };
    let head = digest(0);
    let (key_type, len) = match head[0] % 4 {
        0 => ("AES", 16),
        1 => ("AES", 24),
        2 => ("AES", 32),
        // SECRETs from 1 to 96 bytes: lengths differ between keys, too.
        _ => ("SECRET", 1 + head[1] as usize % 96),
    };
    let data: Vec<u8> = (1..=4u8).flat_map(digest).take(len).collect();
    Expected {
        key_type: key_type.into(),
        data,
    }
}

/// An auth_id as the C services take it: `None` for no owner.
pub fn owner(auth_id: &str) -> Option<&str> {
    (!auth_id.is_empty()).then_some(auth_id)
}

/// Every key the component lists, with its bytes, read through the C services.
pub fn component_contents(c: &LoadedComponent) -> Result<BTreeMap<Id, Expected>> {
    let mut out = BTreeMap::new();
    for id in c.keys()? {
        let read = c
            .read_secret(&id.0, owner(&id.1))
            .map_err(|e| anyhow!("read {id:?}: {e}"))?;
        let (data, key_type) = read.ok_or_else(|| anyhow!("listed {id:?} is absent"))?;
        ensure!(
            out.insert(id.clone(), Expected { key_type, data })
                .is_none(),
            "{id:?} listed twice"
        );
    }
    Ok(out)
}

/// Stores `count` keys `pre-<i>` (every third owned by `app@%`) with [`material`]'s bytes,
/// as the multi-threaded tests start from; returns them as a model's live keys.
pub fn prestore(c: &LoadedComponent, count: usize) -> Result<BTreeMap<Id, Expected>> {
    let mut live = BTreeMap::new();
    for i in 0..count {
        let id: Id = (
            format!("pre-{i}"),
            if i % 3 == 0 {
                "app@%".into()
            } else {
                String::new()
            },
        );
        let want = material(&id.0);
        ensure!(
            c.store(&id.0, owner(&id.1), &want.data, &want.key_type),
            "pre-store {id:?} failed: {:?}",
            crate::loader::registry::log_lines()
        );
        live.insert(id, want);
    }
    Ok(live)
}

/// Reads back a key just generated as `key_type` of `size` bytes: its random bytes, which a
/// model must learn before any reader may pick the key; `Err` if it is absent or not what
/// was asked.
pub fn read_generated(
    c: &LoadedComponent,
    id: &Id,
    key_type: &str,
    size: usize,
) -> Result<Expected, String> {
    let (data, got_type) = c
        .read_secret(&id.0, owner(&id.1))
        .map_err(|e| format!("read back generated {id:?}: {e}"))?
        .ok_or_else(|| format!("generated {id:?} is absent"))?;
    if data.len() != size || got_type != key_type {
        return Err(format!(
            "generated {id:?}: {got_type} of {} bytes, asked {key_type} {size}",
            data.len()
        ));
    }
    Ok(Expected {
        key_type: got_type,
        data,
    })
}

/// Encrypts `plain` with key `id` through the component's `keyring_aes` (AES-256-CBC with
/// padding, as InnoDB's callers use it) and decrypts it again: `Err` unless it comes back.
pub fn aes_round_trip(
    c: &LoadedComponent,
    id: &Id,
    iv: &[u8; 16],
    plain: &[u8],
) -> Result<(), String> {
    let size = c
        .aes_size(plain.len(), "cbc", 256)
        .ok_or("aes get_size failed")?;
    let sealed = c
        .aes(true, &id.0, owner(&id.1), "cbc", 256, iv, true, plain, size)
        .ok_or_else(|| format!("encrypt with {id:?} failed"))?;
    let opened = c
        .aes(
            false,
            &id.0,
            owner(&id.1),
            "cbc",
            256,
            iv,
            true,
            &sealed,
            sealed.len(),
        )
        .ok_or_else(|| format!("decrypt with {id:?} failed"))?;
    if opened != plain {
        return Err(format!("AES round trip with {id:?} changed the data"));
    }
    Ok(())
}

/// A map's identities, for assertions that show which keys differ.
pub fn ids<V>(map: &BTreeMap<Id, V>) -> Vec<&Id> {
    map.keys().collect()
}
