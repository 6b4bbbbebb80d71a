//! The in-memory key cache, keyed by (data_id, auth_id) as MySQL identifies keys.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use zeroize::Zeroizing;

/// A key's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// A key's identity as two borrowed strings, so that a lookup (every mysqld read) builds no
/// owned `KeyId`: the map's keys borrow as `dyn IdParts`, and so does a `(&str, &str)`.
trait IdParts {
    fn parts(&self) -> (&str, &str);
}

impl IdParts for KeyId {
    fn parts(&self) -> (&str, &str) {
        (&self.data_id, &self.auth_id)
    }
}

impl IdParts for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn IdParts + 'a> for KeyId {
    fn borrow(&self) -> &(dyn IdParts + 'a) {
        self
    }
}

// `Borrow` requires that a `KeyId` and its borrowed form hash and compare alike: both go
// through `parts`.
impl Hash for KeyId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl Hash for dyn IdParts + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn IdParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn IdParts + '_ {}

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

/// The cached keys. Values are shared: a reader object mysqld holds is one more reference
/// to the cached key, not a copy, and the material is wiped when the last one goes.
#[derive(Default)]
pub(super) struct Cache {
    keys: HashMap<KeyId, Arc<CachedKey>>,
}

impl Cache {
    pub(super) fn get(&self, data_id: &str, auth_id: &str) -> Option<&Arc<CachedKey>> {
        self.keys.get(&(data_id, auth_id) as &dyn IdParts)
    }

    pub(super) fn contains(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    pub(super) fn insert(&mut self, id: KeyId, key: CachedKey) {
        self.keys.insert(id, Arc::new(key));
    }

    pub(super) fn remove(&mut self, data_id: &str, auth_id: &str) -> Option<Arc<CachedKey>> {
        self.keys.remove(&(data_id, auth_id) as &dyn IdParts)
    }

    /// Every identity, sorted (the order the keys iterator walks).
    pub(super) fn ids(&self) -> Vec<KeyId> {
        let mut ids: Vec<KeyId> = self.keys.keys().cloned().collect();
        ids.sort_unstable();
        ids
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether a cached key is served by this KMIP object (a scan: for rare checks only).
    pub(super) fn serves_object(&self, object_id: &str) -> bool {
        self.keys.values().any(|k| k.object_id == object_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(material: &[u8]) -> CachedKey {
        CachedKey {
            object_id: "1".into(),
            key_type: "AES".into(),
            data: Zeroizing::new(material.to_vec()),
        }
    }

    #[test]
    fn borrowed_lookups_find_what_owned_ids_inserted() {
        let mut cache = Cache::default();
        cache.insert(KeyId::new("a", ""), key(b"1"));
        cache.insert(KeyId::new("a", "u"), key(b"2"));
        // "a" + "u" must not meet "au" + "": the parts hash apart, not their concatenation.
        cache.insert(KeyId::new("au", ""), key(b"3"));
        assert_eq!(&cache.get("a", "").unwrap().data[..], b"1");
        assert_eq!(&cache.get("a", "u").unwrap().data[..], b"2");
        assert_eq!(&cache.get("au", "").unwrap().data[..], b"3");
        assert!(cache.get("u", "a").is_none());
        assert!(cache.contains(&KeyId::new("a", "u")));
        assert_eq!(
            cache.ids(),
            [
                KeyId::new("a", ""),
                KeyId::new("a", "u"),
                KeyId::new("au", "")
            ]
        );
        assert_eq!(&cache.remove("a", "u").unwrap().data[..], b"2");
        assert!(cache.get("a", "u").is_none());
        assert_eq!(cache.len(), 2);
        assert!(cache.serves_object("1"));
        assert!(!cache.serves_object("2"));
    }
}
