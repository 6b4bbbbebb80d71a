//! Objects left on the KMIP servers by stores reported failed: the list, kept out of every
//! cache, and the keyring's takeback of them once a server answers, across RELOADs of the
//! same servers.
//!
//! The case: the Activate of a new object took effect but its answer was lost, and no
//! server answered the State read, the Revoke or the Destroy that would have settled it.
//! mysqld was told the store failed, yet the object may be Active, so a plain load would
//! serve it (and InnoDB may store the same name again, making two). The guest hands such
//! objects over (`take-left-on-server`); they are kept here, with the identity of the store
//! that left them, for as long as this process keeps a keyring on the same servers.

use super::cache::KeyId;
use super::{within_budget, Keyring, KeyringError};
use crate::broker::CallKind;
use crate::config::Config;
use crate::log::{LogLevel, LogSink};
use crate::sandbox::Sandbox;
use std::sync::{Arc, Mutex, MutexGuard};

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

/// What the object ids of a configuration belong to: its servers (in any order) and its
/// Object Group.
fn scope_of(config: &Config) -> String {
    let mut servers: Vec<String> = config.servers.iter().map(ToString::to_string).collect();
    servers.sort_unstable();
    format!(
        "{} (object group {})",
        servers.join(", "),
        config.object_group.as_deref().unwrap_or("<NONE>")
    )
}

/// The list of objects left on the server for a keyring of `config`: the previous
/// keyring's when it was on the same servers, else a new one (and a warning naming what
/// the previous servers keep).
pub(super) fn left_on_server_for(
    config: &Config,
    previous: Option<&Keyring>,
    log: &dyn LogSink,
) -> Arc<LeftOnServer> {
    let scope = scope_of(config);
    match previous.map(|p| &p.left_on_server) {
        Some(list) if list.scope() == scope => list.clone(),
        other => {
            if let Some(list) = other.filter(|l| !l.is_empty()) {
                let objects: Vec<String> = list
                    .snapshot()
                    .into_iter()
                    .map(|o| format!("{} ({})", o.object_id, o.id))
                    .collect();
                log.log(
                    LogLevel::Warning,
                    &format!(
                        "KMIP objects left on {} by stores reported failed are no longer taken \
                         back, because the configuration now names other servers or another \
                         object group: {}; revoke and destroy them there",
                        list.scope(),
                        objects.join(", ")
                    ),
                );
            }
            Arc::new(LeftOnServer::new(scope))
        }
    }
}

impl Keyring {
    /// Ends a store or generate: on failure, keeps what the guest left on the server; on
    /// success (a server answered), takes back what earlier failures left.
    pub(super) fn after_write<T>(
        &self,
        sandbox: &mut Sandbox,
        id: &KeyId,
        result: Result<T, KeyringError>,
    ) -> Result<T, KeyringError> {
        if result.is_ok() {
            // Best effort: what cannot be taken back now stays listed for the next time.
            let _ = self.take_back(sandbox, None);
            return result;
        }
        let mut left = sandbox.take_left_on_server();
        // No failed store leaves the object of a key the cache serves: a guest that says so
        // is wrong, and taking that object back would destroy a live key.
        let serving: Vec<String> = {
            let cache = self.read_cache();
            left.iter()
                .filter(|o| cache.serves_object(o))
                .cloned()
                .collect()
        };
        if !serving.is_empty() {
            left.retain(|o| !serving.contains(o));
            self.log.log(
                LogLevel::Error,
                &format!(
                    "the keyring guest said the failed store of {id} left KMIP objects {} on \
                     the server, but cached keys are served by them; they are not taken back",
                    serving.join(", ")
                ),
            );
        }
        let handed = left.len();
        if handed > 0 {
            let dropped = self.left_on_server.record(id, left);
            if dropped > 0 {
                self.log.log(
                    LogLevel::Error,
                    &format!(
                        "the keyring guest handed over {handed} KMIP objects left on the server \
                         by the failed store of {id}; at most {MAX_LEFT_ON_SERVER} are kept, so \
                         {dropped} are not, and a later load may serve them"
                    ),
                );
            }
        }
        result
    }

    /// Takes back objects left on the server by failed stores: those of `only`, or all.
    /// Each is removed as a key is (Revoke, Destroy, gone counts as done). What fails stays
    /// listed: for `only` that fails the caller's store (storing the name again would put
    /// two objects under it); for all, the pass ends at the first server outage.
    pub(super) fn take_back(
        &self,
        sandbox: &mut Sandbox,
        only: Option<&KeyId>,
    ) -> Result<(), KeyringError> {
        for left in self.left_on_server.snapshot() {
            if only.is_some_and(|id| *id != left.id) {
                continue;
            }
            let removed = within_budget(
                &self.broker,
                &self.activity,
                CallKind::Write,
                "take back",
                || sandbox.remove(&left.object_id),
            );
            match removed {
                Ok(()) => {
                    self.left_on_server.settled(&left.object_id);
                    self.log.log(
                        LogLevel::Info,
                        &format!(
                            "took back KMIP object {}, left on the server by a store of {} \
                             reported failed",
                            left.object_id, left.id
                        ),
                    );
                }
                Err(e) => {
                    let error = KeyringError::LeftOnServer {
                        id: left.id.clone(),
                        object_id: left.object_id.clone(),
                        cause: e.to_string(),
                    };
                    if only.is_some() {
                        return Err(error);
                    }
                    self.log.log(LogLevel::Warning, &error.to_string());
                    if matches!(e, KeyringError::Unavailable { .. }) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Drops from the cache any key served by an object left on the server by a failed
    /// store: the RELOAD that built this keyring may have read it while a write on the
    /// keyring it replaced was failing.
    pub fn keep_left_objects_out(&self) {
        if self.left_on_server.is_empty() {
            return;
        }
        let mut cache = self.write_cache();
        for left in self.left_on_server.snapshot() {
            let served = cache
                .get(&left.id.data_id, &left.id.auth_id)
                .is_some_and(|k| k.object_id == left.object_id);
            if served {
                cache.remove(&left.id.data_id, &left.id.auth_id);
                self.log.log(
                    LogLevel::Warning,
                    &format!(
                        "dropped {} from the cache: its KMIP object {} was left on the server \
                         by a store reported failed",
                        left.id, left.object_id
                    ),
                );
            }
        }
    }

    /// How many objects left on the server by failed stores wait to be taken back.
    pub fn objects_left_on_server(&self) -> usize {
        self.left_on_server.len()
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
