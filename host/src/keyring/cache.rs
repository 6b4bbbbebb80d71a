//! The in-memory key cache, keyed by (data_id, auth_id) as MySQL identifies keys.

use std::collections::BTreeMap;
use std::fmt;
use zeroize::Zeroizing;

/// A key's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId {
    /// MySQL data_id.
    pub data_id: String,
    /// MySQL auth_id; empty for keys without an owner.
    pub auth_id: String,
}

impl KeyId {
    /// Builds an identity.
    pub fn new(data_id: &str, auth_id: &str) -> Self {
        Self {
            data_id: data_id.to_owned(),
            auth_id: auth_id.to_owned(),
        }
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.auth_id.is_empty() {
            write!(f, "key '{}'", self.data_id)
        } else {
            write!(f, "key '{}' of '{}'", self.data_id, self.auth_id)
        }
    }
}

/// A cached key: its server object, type label and material (wiped on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct CachedKey {
    /// The KMIP Unique Identifier.
    pub object_id: String,
    /// "AES" or "SECRET".
    pub key_type: String,
    /// The key material.
    pub data: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for CachedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedKey")
            .field("object_id", &self.object_id)
            .field("key_type", &self.key_type)
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .finish()
    }
}

#[derive(Default)]
pub(super) struct Cache {
    keys: BTreeMap<KeyId, CachedKey>,
}

impl Cache {
    pub(super) fn get(&self, data_id: &str, auth_id: &str) -> Option<&CachedKey> {
        // BTreeMap lookups need an owned key; ids are short.
        self.keys.get(&KeyId::new(data_id, auth_id))
    }

    pub(super) fn contains(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    pub(super) fn insert(&mut self, id: KeyId, key: CachedKey) {
        self.keys.insert(id, key);
    }

    pub(super) fn remove(&mut self, data_id: &str, auth_id: &str) -> Option<CachedKey> {
        self.keys.remove(&KeyId::new(data_id, auth_id))
    }

    pub(super) fn ids(&self) -> Vec<KeyId> {
        self.keys.keys().cloned().collect()
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}
