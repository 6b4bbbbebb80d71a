//! Objects left on the KMIP servers by stores reported failed: kept out of every cache and
//! taken back once a server answers, across RELOADs of the same servers.
//!
//! The case: the Activate of a new object took effect but its answer was lost, and no
//! server answered the State read, the Revoke or the Destroy that would have settled it.
//! mysqld was told the store failed, yet the object may be Active, so a plain load would
//! serve it (and InnoDB may store the same name again, making two). The guest hands such
//! objects over (`take-left-on-server`); they are kept here, with the identity of the store
//! that left them, for as long as this process keeps a keyring on the same servers.

use super::cache::KeyId;
use std::sync::{Mutex, MutexGuard};

/// Objects kept at most. Each one is a store that failed while no server answered, so a
/// real run holds a few; past this a guest is misbehaving, and further ones are dropped
/// with an error line (they then surface at a load, as before this list existed).
pub const MAX_LEFT_ON_SERVER: usize = 64;

/// One object left on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftObject {
    /// The server's Unique Identifier.
    pub object_id: String,
    /// The identity of the store that left it.
    pub id: KeyId,
}

/// The objects left on one set of servers, shared by the keyrings loaded on them.
#[derive(Debug)]
pub struct LeftOnServer {
    /// The servers and Object Group these object ids belong to: an id means nothing
    /// elsewhere, and on another server could name somebody's real key.
    scope: String,
    objects: Mutex<Vec<LeftObject>>,
}

impl LeftOnServer {
    /// An empty list for objects on `scope` (the servers and group, as one string).
    pub fn new(scope: String) -> Self {
        Self {
            scope,
            objects: Mutex::new(Vec::new()),
        }
    }

    /// What the ids belong to.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    fn lock(&self) -> MutexGuard<'_, Vec<LeftObject>> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records objects the store of `id` left; returns how many did not fit.
    pub fn record(&self, id: &KeyId, object_ids: Vec<String>) -> usize {
        let mut objects = self.lock();
        let mut dropped = 0;
        for object_id in object_ids {
            if objects.iter().any(|o| o.object_id == object_id) {
                continue;
            }
            if objects.len() >= MAX_LEFT_ON_SERVER {
                dropped += 1;
                continue;
            }
            objects.push(LeftObject {
                object_id,
                id: id.clone(),
            });
        }
        dropped
    }

    /// Whether this object is one of them.
    pub fn contains(&self, object_id: &str) -> bool {
        self.lock().iter().any(|o| o.object_id == object_id)
    }

    /// Every object, for a takeback pass (the list may change meanwhile).
    pub fn snapshot(&self) -> Vec<LeftObject> {
        self.lock().clone()
    }

    /// Forgets an object that has been taken back.
    pub fn settled(&self, object_id: &str) {
        self.lock().retain(|o| o.object_id != object_id);
    }

    /// How many objects are waiting to be taken back.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_each_object_once_and_at_most_the_cap() {
        let list = LeftOnServer::new("a:1".into());
        let id = KeyId::new("k", "");
        assert_eq!(list.record(&id, vec!["1".into(), "1".into()]), 0);
        assert_eq!(list.len(), 1);
        let many = (0..MAX_LEFT_ON_SERVER + 5)
            .map(|i| format!("x{i}"))
            .collect();
        assert_eq!(list.record(&id, many), 6);
        assert_eq!(list.len(), MAX_LEFT_ON_SERVER);
        assert!(list.contains("1"));
        list.settled("1");
        assert!(!list.contains("1"));
        assert_eq!(list.len(), MAX_LEFT_ON_SERVER - 1);
    }
}
