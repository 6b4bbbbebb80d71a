//! The soak's view of what the keyring must hold, and the checks of the component and of
//! the server against it.

use crate::keyring_model::{Expected, Id};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fmt::Write as _;

/// How many names of removed keys, and of writes reported failed, the model remembers
/// each: enough for every fetch of an absent key to find some, bounded so that a run of
/// hours does not grow this process's memory (which the soak reports as the component's).
pub const RECENT_NAMES: usize = 4096;

/// Keys that must stay absent, by name: the latest [`RECENT_NAMES`] remembered and all
/// counted. Names are never reused, so one forgotten can still only be reported as not live.
#[derive(Default)]
pub struct Absent {
    order: VecDeque<Id>,
    set: HashSet<Id>,
    total: u64,
}

impl Absent {
    /// Remembers `id` (once), forgetting the oldest beyond [`RECENT_NAMES`].
    pub fn insert(&mut self, id: Id) {
        if !self.set.insert(id.clone()) {
            return;
        }
        self.total += 1;
        self.order.push_back(id);
        if self.order.len() > RECENT_NAMES {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
    }

    /// Whether `id` is among the remembered names.
    pub fn contains(&self, id: &Id) -> bool {
        self.set.contains(id)
    }

    /// One of the remembered names, the `index(len)`-th, or `None` when none is (without
    /// calling `index`, so that a draw `below(len)` never sees 0).
    pub fn pick(&self, index: impl FnOnce(usize) -> usize) -> Option<&Id> {
        if self.order.is_empty() {
            return None;
        }
        self.order.get(index(self.order.len()))
    }

    /// How many names were ever inserted.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Changed only under mysqld's write lock, right after the component's call returned, so
/// whoever holds the read lock sees the model and the component agree.
#[derive(Default)]
pub struct Model {
    /// Keys whose store or generate was reported done, and not removed since.
    pub live: BTreeMap<Id, Expected>,
    /// Keys whose remove was reported done (or, for a remove reported failed, that the
    /// next load no longer found). Names are never reused, so these stay absent.
    pub removed: Absent,
    /// Stores and generates reported failed: these must never appear, not in the cache and
    /// not on the server.
    pub failed: Absent,
    /// Live keys whose remove was reported failed: in the cache still (checked at once),
    /// on the server perhaps not, when the Destroy's answer was lost and the server could
    /// not be asked afterwards. The next load that succeeds decides.
    pub doubtful: BTreeSet<Id>,
    /// Removes reported failed that the next load showed had taken effect on the server.
    pub doubtful_gone: u64,
}

impl Model {
    /// Takes what a successful load found: every doubtful key is decided, then the
    /// cache must be the model exactly. `Err` describes every difference. A write
    /// reported failed never surfaces, not even one whose object was left on the server
    /// (its Activate's answer lost, then no server reachable to take it back): the
    /// component keeps those out of its loads.
    pub fn reconcile(&mut self, loaded: &BTreeMap<Id, Expected>) -> Result<(), String> {
        for id in std::mem::take(&mut self.doubtful) {
            if !loaded.contains_key(&id) {
                self.live.remove(&id);
                self.removed.insert(id);
                self.doubtful_gone += 1;
            }
        }
        self.differences("the load", loaded)
    }

    /// `Err` naming each key `seen` (by `who`) holds that it must not, lacks, or holds with
    /// other bytes or another type.
    pub fn differences(&self, who: &str, seen: &BTreeMap<Id, Expected>) -> Result<(), String> {
        let mut out = String::new();
        for (id, got) in seen {
            match self.live.get(id) {
                Some(want) if want == got => {}
                Some(want) => {
                    let _ = writeln!(
                        out,
                        "{who} holds {id:?} as {} of {} bytes, stored as {} of {} bytes",
                        got.key_type,
                        got.data.len(),
                        want.key_type,
                        want.data.len()
                    );
                }
                None if self.failed.contains(id) => {
                    let _ = writeln!(out, "{who} holds {id:?}, whose write was reported failed");
                }
                None if self.removed.contains(id) => {
                    let _ = writeln!(out, "{who} holds {id:?}, which was removed");
                }
                None => {
                    let _ = writeln!(
                        out,
                        "{who} holds {id:?}, which is not live (never written, or removed or \
                         reported failed before the latest {RECENT_NAMES} of each)"
                    );
                }
            }
        }
        for id in self.live.keys().filter(|id| !seen.contains_key(*id)) {
            let _ = writeln!(out, "{who} lacks {id:?}, whose write was reported done");
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }
}

/// What PyKMIP's own client (tests/pykmip/witness.py `dump`) sees on the server, as keys:
/// the objects of `group` that a load must find (a Name, not PreActive), and how many
/// PreActive leftovers of interrupted stores it holds besides.
pub fn witnessed_keys(
    dump: &serde_json::Value,
    group: &str,
) -> Result<(BTreeMap<Id, Expected>, usize), String> {
    let objects = dump.as_array().ok_or("the witness's dump is not a list")?;
    let mut keys = BTreeMap::new();
    let mut leftovers = 0;
    for object in objects {
        let field = |name: &str| object[name].as_str().unwrap_or_default();
        let in_group = object["object_groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|v| v == group));
        if !in_group {
            continue;
        }
        if field("state") == "PRE_ACTIVE" {
            leftovers += 1;
            continue;
        }
        let name = object["names"][0]
            .as_str()
            .ok_or_else(|| format!("object {} has no Name", field("uid")))?;
        let auth_id = object["application_specific_information"]
            .as_array()
            .and_then(|infos| {
                infos
                    .iter()
                    .find(|i| i[0] == "mysql-keyring-auth-id")
                    .and_then(|i| i[1].as_str())
            })
            .unwrap_or_default();
        let key_type = match field("object_type") {
            "SYMMETRIC_KEY" => "AES",
            "SECRET_DATA" => "SECRET",
            other => return Err(format!("object {} is a {other}", field("uid"))),
        };
        let data = hex_bytes(field("value_hex"))
            .ok_or_else(|| format!("object {}: value is not hex", field("uid")))?;
        let id = (name.to_owned(), auth_id.to_owned());
        let expected = Expected {
            key_type: key_type.into(),
            data,
        };
        if keys.insert(id.clone(), expected).is_some() {
            return Err(format!("the server holds {id:?} twice outside PreActive"));
        }
    }
    Ok((keys, leftovers))
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, byte: u8) -> (Id, Expected) {
        (
            (name.to_owned(), String::new()),
            Expected {
                key_type: "AES".into(),
                data: vec![byte; 16],
            },
        )
    }

    #[test]
    fn a_load_decides_doubtful_removes_and_must_then_match_exactly() {
        let mut model = Model::default();
        let (a, ka) = key("a", 1);
        let (b, kb) = key("b", 2);
        model.live.insert(a.clone(), ka.clone());
        model.live.insert(b.clone(), kb.clone());
        model.doubtful.insert(a.clone());
        model.doubtful.insert(b.clone());
        // `a` is gone on the server, `b` still there.
        let loaded: BTreeMap<Id, Expected> = [(b.clone(), kb.clone())].into();
        model.reconcile(&loaded).unwrap();
        assert!(model.removed.contains(&a) && model.live.contains_key(&b));
        assert_eq!(model.doubtful_gone, 1);
        // A write reported failed that shows up is named as such.
        let (c, kc) = key("c", 3);
        model.failed.insert(c.clone());
        let with_failed: BTreeMap<Id, Expected> = [(b, kb), (c, kc)].into();
        let err = model.differences("the load", &with_failed).unwrap_err();
        assert!(err.contains("whose write was reported failed"), "{err}");
    }

    #[test]
    fn absent_keys_are_remembered_up_to_a_bound_and_still_counted_and_refused_beyond_it() {
        let mut model = Model::default();
        let ids: Vec<Id> = (0..RECENT_NAMES + 10)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        for id in &ids {
            model.removed.insert(id.clone());
        }
        model.removed.insert(ids[RECENT_NAMES + 9].clone());
        assert_eq!(model.removed.total(), (RECENT_NAMES + 10) as u64);
        assert!(!model.removed.contains(&ids[9]) && model.removed.contains(&ids[10]));
        assert_eq!(
            model.removed.pick(|len| len - 1),
            Some(&ids[RECENT_NAMES + 9])
        );
        assert_eq!(model.removed.pick(|_| 0), Some(&ids[10]));
        assert_eq!(Absent::default().pick(|_| 0), None);
        // A forgotten name that shows up is still a difference, named as not live.
        let (_, k) = key("k0", 1);
        let seen: BTreeMap<Id, Expected> = [(ids[0].clone(), k)].into();
        let err = model.differences("the load", &seen).unwrap_err();
        assert!(err.contains("which is not live"), "{err}");
        let (_, k) = key("k10", 1);
        let seen: BTreeMap<Id, Expected> = [(ids[10].clone(), k)].into();
        let err = model.differences("the load", &seen).unwrap_err();
        assert!(err.contains("which was removed"), "{err}");
    }

    #[test]
    fn the_witness_dump_becomes_keys_of_the_group_without_preactive_leftovers() {
        let dump = serde_json::json!([
            {"uid": "1", "object_type": "SYMMETRIC_KEY", "value_hex": "00ff", "state": "ACTIVE",
             "names": ["k"], "object_groups": ["soak"],
             "application_specific_information": [["mysql-keyring-auth-id", "u@%"]]},
            {"uid": "2", "object_type": "SECRET_DATA", "value_hex": "01", "state": "PRE_ACTIVE",
             "names": ["k"], "object_groups": ["soak"], "application_specific_information": []},
            {"uid": "3", "object_type": "SECRET_DATA", "value_hex": "02", "state": "ACTIVE",
             "names": ["other"], "object_groups": ["elsewhere"],
             "application_specific_information": []}
        ]);
        let (keys, leftovers) = witnessed_keys(&dump, "soak").unwrap();
        assert_eq!(leftovers, 1);
        assert_eq!(keys.len(), 1);
        let got = &keys[&("k".to_owned(), "u@%".to_owned())];
        assert_eq!(
            (got.key_type.as_str(), got.data.as_slice()),
            ("AES", &[0, 255][..])
        );
    }
}
