//! Listing every object of one kind with Locate, so that a load never reports success
//! with a key missing.
//!
//! The threat: KMIP lets a server answer a Locate with fewer identifiers than asked for
//! (its own limit: Cosmian KMS returns at most 1 000), ignore Offset Items (Cosmian again:
//! every "page" is the first one), report a Located Items that is not the total (Cosmian:
//! the page's size), order objects differently from one request to the next, and change
//! between pages (another client stores or destroys a key). Stopping at the first short
//! page loses every key past it, silently.
//!
//! What is done instead, per kind (object type, Object Group, and narrower filters):
//! - Pages overlap by one identifier: each page after the first starts at the offset of
//!   the last identifier already seen, and must start with it. If it does not, the list
//!   moved under us (objects added, removed or reordered) and the pass starts again; a
//!   page that repeats the first one means the server ignores Offset Items.
//! - A pass ends at a page that brings nothing new: never at a short page, since a server
//!   may cap pages below what was asked. Located Items, when present, must not exceed the
//!   identifiers found.
//! - A server that cannot page (KMIP before 1.3, or Offset Items ignored) is asked for the
//!   whole kind at once. An answer shorter than the page size is complete; a full one may
//!   be capped, so the kind is split by narrower exact filters (State, then, for symmetric
//!   keys, Cryptographic Length) and each part listed; a part that still comes back full
//!   fails the load with the reason. Over several passes that all moved, the union of what
//!   was seen is accepted only when it reaches the server's Located Items.

use crate::error::KeyringError;
use crate::kmip::request::LocateFilter;
use kmip_protocol::types::common::{ObjectType, State};
use std::collections::{BTreeSet, HashSet};

/// Passes over a kind before its listing is given up as unstable.
pub(super) const MAX_PASSES: u32 = 4;

/// One kind of object to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kind {
    pub(super) object_type: ObjectType,
    pub(super) filter: LocateFilter,
}

/// The States a listing is split by: every State Locate returns by default.
const STATES: [State; 4] = [
    State::Active,
    State::Deactivated,
    State::Compromised,
    State::PreActive,
];
/// The AES key sizes MySQL stores, in bits.
const AES_BITS: [i32; 3] = [128, 192, 256];

impl Kind {
    /// Every object of `object_type` (in the configured Object Group).
    pub(super) fn all(object_type: ObjectType) -> Self {
        Self {
            object_type,
            filter: LocateFilter::default(),
        }
    }

    /// The narrower kinds that together hold every object of this one MySQL can use, or
    /// `None` when no filter is left to split by.
    pub(super) fn split(self) -> Option<Vec<Kind>> {
        let with = |filter: LocateFilter| Kind {
            object_type: self.object_type,
            filter,
        };
        if self.filter.state.is_none() {
            return Some(
                STATES
                    .iter()
                    .map(|s| {
                        with(LocateFilter {
                            state: Some(*s),
                            ..self.filter
                        })
                    })
                    .collect(),
            );
        }
        if self.object_type == ObjectType::SymmetricKey
            && self.filter.cryptographic_length.is_none()
        {
            return Some(
                AES_BITS
                    .iter()
                    .map(|bits| {
                        with(LocateFilter {
                            cryptographic_length: Some(*bits),
                            ..self.filter
                        })
                    })
                    .collect(),
            );
        }
        None
    }

    /// "Symmetric Keys in state Active of 256 bits", for messages.
    pub(super) fn describe(self, group: Option<&str>) -> String {
        let mut text = match self.object_type {
            ObjectType::SymmetricKey => "Symmetric Keys".to_owned(),
            ObjectType::SecretData => "Secret Data objects".to_owned(),
            other => format!("{other:?} objects"),
        };
        if let Some(group) = group {
            text.push_str(&format!(" in object group '{group}'"));
        }
        if let Some(state) = self.filter.state {
            text.push_str(&format!(" in state {state:?}"));
        }
        if let Some(bits) = self.filter.cryptographic_length {
            text.push_str(&format!(" of {bits} bits"));
        }
        text
    }
}

/// What a finished listing found.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Every identifier of the kind.
    Complete(Vec<String>),
    /// The server cannot page and its answer was full: it may hold more. The identifiers
    /// it did return are kept; the kind must be split to find the rest.
    Full(Vec<String>),
    /// The listing cannot be trusted.
    Failed(KeyringError),
}

/// The listing of one kind in progress: which page to ask for next, what came so far.
#[derive(Debug)]
pub(super) struct Listing {
    kind: Kind,
    /// Identifiers asked for per page in this pass.
    page_size: usize,
    /// Whether the protocol version has Offset Items.
    paged: bool,
    pass: u32,
    /// This pass's identifiers, in the server's order.
    ids: Vec<String>,
    seen: HashSet<String>,
    /// Offset Items of the next page: the position of the last identifier of this one.
    offset: usize,
    /// Why this pass cannot be trusted as a snapshot of the list, if it cannot.
    moved: Option<String>,
    /// Every identifier of every pass.
    union: BTreeSet<String>,
    /// Located Items of the last page, when the server sends it.
    located: Option<i32>,
    outcome: Option<Outcome>,
}

impl Listing {
    pub(super) fn new(kind: Kind, page_size: u32, paged: bool) -> Self {
        Self {
            kind,
            page_size: page_size.max(2) as usize,
            paged,
            pass: 0,
            ids: Vec::new(),
            seen: HashSet::new(),
            offset: 0,
            moved: None,
            union: BTreeSet::new(),
            located: None,
            outcome: None,
        }
    }

    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// The next page to ask for, as (Maximum Items, Offset Items); `None` once finished.
    pub(super) fn next_page(&self) -> Option<(i32, Option<i32>)> {
        if self.outcome.is_some() {
            return None;
        }
        let max = i32::try_from(self.page_size).unwrap_or(i32::MAX);
        let offset = (self.offset > 0).then(|| i32::try_from(self.offset).unwrap_or(i32::MAX));
        Some((max, offset))
    }

    /// The listing's result, once finished.
    pub(super) fn take_outcome(&mut self) -> Option<Outcome> {
        self.outcome.take()
    }

    /// Ends the listing with nothing found (a server without Secret Data support).
    pub(super) fn finish_empty(&mut self) {
        self.outcome = Some(Outcome::Complete(Vec::new()));
    }

    /// Takes the answer to the page [`Self::next_page`] asked for.
    pub(super) fn accept(&mut self, located: Option<i32>, page: Vec<String>) {
        if !self.paged {
            self.outcome = Some(self.whole(page));
            return;
        }
        let first = self.ids.is_empty();
        if !first && self.located.is_some() && located != self.located {
            self.moved("Located Items changed between pages");
        }
        self.located = located;
        let new: Vec<String> = if first {
            page.clone()
        } else {
            let expected = self.ids.last().expect("not the first page");
            match page.first() {
                None => {
                    // Nothing where the last identifier was: the list shrank under us.
                    self.moved("a page came back empty where one was expected");
                    return self.finish_pass();
                }
                Some(id) if id == expected => page[1..].to_vec(),
                Some(_) if page.len() > 1 && self.ids.starts_with(&page) => {
                    // The same first page again: the server ignores Offset Items.
                    let ids = std::mem::take(&mut self.ids);
                    self.outcome = Some(self.whole(ids));
                    return;
                }
                Some(_) => {
                    self.moved("the list moved between pages");
                    page.clone()
                }
            }
        };
        let new: Vec<String> = new
            .into_iter()
            .filter(|id| {
                let fresh = self.seen.insert(id.clone());
                if !fresh {
                    self.moved = self
                        .moved
                        .take()
                        .or_else(|| Some("an identifier came back twice".to_owned()));
                }
                fresh
            })
            .collect();
        if new.is_empty() {
            return self.finish_pass();
        }
        self.offset += page.len().saturating_sub(1);
        self.ids.extend(new);
    }

    /// The answer of a server that cannot page: complete when shorter than a page.
    fn whole(&self, ids: Vec<String>) -> Outcome {
        let unique: Vec<String> = {
            let mut seen = HashSet::new();
            ids.into_iter()
                .filter(|id| seen.insert(id.clone()))
                .collect()
        };
        if unique.len() < self.page_size {
            Outcome::Complete(unique)
        } else {
            Outcome::Full(unique)
        }
    }

    fn moved(&mut self, why: &str) {
        self.moved.get_or_insert_with(|| why.to_owned());
    }

    /// Ends a pass: a pass during which nothing moved is the list; Located Items above
    /// what it found, or a pass that moved, means another pass.
    fn finish_pass(&mut self) {
        if let Some(located) = self.located.and_then(|l| usize::try_from(l).ok()) {
            if located > self.ids.len() && self.moved.is_none() {
                self.moved(&format!(
                    "the server reports {located} matches but listed {}",
                    self.ids.len()
                ));
            }
        }
        match self.moved.take() {
            None => self.outcome = Some(Outcome::Complete(std::mem::take(&mut self.ids))),
            Some(why) => self.restart(&why),
        }
    }

    /// Starts another pass; gives up after [`MAX_PASSES`], unless what every pass saw
    /// together reaches the server's Located Items.
    fn restart(&mut self, why: &str) {
        self.union.extend(self.ids.drain(..));
        self.seen.clear();
        self.offset = 0;
        self.pass += 1;
        if let Some(located) = self.located.and_then(|l| usize::try_from(l).ok()) {
            if located > 0 && self.union.len() >= located {
                self.outcome = Some(Outcome::Complete(self.union.iter().cloned().collect()));
                return;
            }
        }
        if self.pass >= MAX_PASSES {
            self.outcome = Some(Outcome::Failed(KeyringError::IncompleteListing(format!(
                "{why}, in {MAX_PASSES} passes in a row ({} identifiers seen in all{}): \
                 objects are being added or removed during the load, or the server does \
                 not keep a stable order; the load is refused rather than miss a key",
                self.union.len(),
                self.located
                    .map(|l| format!(", the server reports {l}"))
                    .unwrap_or_default()
            ))));
            return;
        }
        // Other page boundaries on the next pass, so that a server whose order moves
        // shows other windows of it.
        self.page_size = (self.page_size / 2).max(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> Vec<String> {
        range.map(|i| format!("id{i:05}")).collect()
    }

    /// Serves `all` as a well-behaved server that honours Offset Items but caps pages.
    fn serve(listing: &mut Listing, all: &[String], cap: usize) -> Outcome {
        let mut requests = 0;
        loop {
            if let Some(outcome) = listing.take_outcome() {
                return outcome;
            }
            let (max, offset) = listing.next_page().expect("not finished");
            let start = offset.unwrap_or(0) as usize;
            let end = (start + (max as usize).min(cap)).min(all.len());
            listing.accept(None, all[start.min(end)..end].to_vec());
            requests += 1;
            assert!(requests < 10_000, "the listing ends");
        }
    }

    #[test]
    fn a_server_that_caps_pages_is_paged_to_the_end() {
        let all = ids(0..2_500);
        let mut listing = Listing::new(Kind::all(ObjectType::SymmetricKey), 1_000, true);
        match serve(&mut listing, &all, 16) {
            Outcome::Complete(found) => assert_eq!(found, all),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_server_that_ignores_offset_items_is_split_when_full() {
        let first = ids(0..1_000);
        let mut listing = Listing::new(Kind::all(ObjectType::SymmetricKey), 1_000, true);
        listing.accept(None, first.clone());
        listing.accept(None, first.clone());
        assert!(matches!(listing.take_outcome(), Some(Outcome::Full(f)) if f == first));
        let mut small = Listing::new(Kind::all(ObjectType::SymmetricKey), 1_000, true);
        small.accept(None, ids(0..5));
        small.accept(None, ids(0..5));
        assert!(matches!(small.take_outcome(), Some(Outcome::Complete(f)) if f.len() == 5));
    }

    #[test]
    fn a_list_that_moves_between_pages_is_listed_again_and_then_refused() {
        let mut listing = Listing::new(Kind::all(ObjectType::SymmetricKey), 4, true);
        listing.accept(None, ids(0..4));
        // An object before the boundary was destroyed: the next page starts one later.
        listing.accept(None, ids(4..8));
        // The pass goes on to its end, but cannot be trusted.
        listing.accept(None, Vec::new());
        assert_eq!(
            listing.next_page(),
            Some((2, None)),
            "a new pass, smaller pages"
        );
        for _ in 1..MAX_PASSES {
            listing.accept(None, ids(0..2));
            listing.accept(None, ids(5..7));
            listing.accept(None, Vec::new());
        }
        assert!(matches!(
            listing.take_outcome(),
            Some(Outcome::Failed(KeyringError::IncompleteListing(_)))
        ));
    }

    #[test]
    fn located_items_above_what_was_found_is_not_success() {
        let mut listing = Listing::new(Kind::all(ObjectType::SecretData), 10, true);
        listing.accept(Some(12), ids(0..5));
        listing.accept(Some(12), ids(4..5));
        assert!(listing.take_outcome().is_none(), "restarted, not complete");
        assert_eq!(listing.next_page(), Some((5, None)));
    }

    #[test]
    fn kinds_split_by_state_then_by_aes_size() {
        let states = Kind::all(ObjectType::SymmetricKey).split().unwrap();
        assert_eq!(states.len(), 4);
        let sizes = states[0].split().unwrap();
        assert_eq!(sizes.len(), 3);
        assert!(sizes[2].split().is_none());
        let secrets = Kind::all(ObjectType::SecretData).split().unwrap();
        assert!(secrets[0].split().is_none());
        assert_eq!(
            sizes[2].describe(Some("g")),
            "Symmetric Keys in object group 'g' in state Active of 256 bits"
        );
    }
}
