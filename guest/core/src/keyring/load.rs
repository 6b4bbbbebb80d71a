//! The cache fill: list every Symmetric Key and Secret Data object of the Object Group
//! (`listing`), then read each with Get and Get Attributes, many objects per message.
//!
//! Round trips: one Discover Versions, then Locate rounds (each round one message with the
//! next page of every kind still being listed), then one message per `fetch_batch_size`
//! objects of any type. For N objects, N_max of the more numerous type, pages of P
//! identifiers that the server answers in full and batches of B:
//! 1 + (⌈(N_max − 1) / (P − 1)⌉ + 1) + ⌈N / B⌉ messages, whatever the mix of AES and SECRET.
//!
//! Reading tolerates what real servers do between the Locate and the Get: an object that
//! is gone (Item Not Found, Object Destroyed) or destroyed with its metadata kept is
//! skipped with a warning naming it; every other failure fails the load. Multi-item
//! batches ask the server to Continue past a failed item, answers are matched by Unique
//! Batch Item ID, and items a short answer left out are sent again.

use super::attributes::ObjectAttributes;
use super::listing::{Kind, Listing, Outcome};
use super::{wrong_payload, KeyEntry, KeyringLogic, LoadStrategy, Settings};
use crate::error::KeyringError;
use crate::key_type::KeyType;
use crate::kmip::request;
use crate::kmip::response::{self, BatchItem, ManagedObject, ResponsePayload};
use crate::kmip::ResultReason;
use crate::platform::{LogLevel, Platform};
use crate::session::Idempotence;
use kmip_protocol::types::common::{ObjectType, Operation, State};
use std::collections::VecDeque;

/// How many times one object may be left unanswered before the load gives up.
pub(super) const MAX_UNANSWERED: u8 = 3;

/// One object to read.
#[derive(Debug, Clone)]
pub(super) struct Fetch {
    pub(super) id: String,
    pub(super) key_type: KeyType,
    /// Whether the Get asks for the Raw key format (symmetric keys, until a server says it
    /// cannot give that object in it).
    pub(super) raw: bool,
    pub(super) unanswered: u8,
}

/// The server's answers for one object: its Get Attributes and its Get, each absent when
/// the server stopped the batch before it.
pub(super) type FetchAnswers = (Option<BatchItem>, Option<BatchItem>);

/// What became of one object.
enum Read {
    Key(KeyEntry),
    Skipped,
    /// Ask again, without a key format.
    AgainInRegisteredFormat,
    /// The server stopped the batch before this object's answers: ask again.
    Unanswered,
}

fn key_type_of(object_type: ObjectType) -> KeyType {
    match object_type {
        ObjectType::SecretData => KeyType::Secret,
        _ => KeyType::Aes,
    }
}

/// Whether a Locate of Secret Data failed because the server keeps no Secret Data.
fn refuses_secret_data(error: &KeyringError) -> bool {
    error.server_failure().is_some_and(|f| {
        [
            ResultReason::FEATURE_NOT_SUPPORTED,
            ResultReason::OPERATION_NOT_SUPPORTED,
            ResultReason::INVALID_FIELD,
            ResultReason::ILLEGAL_OBJECT_TYPE,
            ResultReason::INVALID_OBJECT_TYPE,
            ResultReason::UNKNOWN_ENUMERATION,
        ]
        .into_iter()
        .any(|r| f.is(r))
    })
}

impl<P: Platform> KeyringLogic<P> {
    /// Reads every Symmetric Key and Secret Data object in the configured group.
    pub fn load_all(&mut self) -> Result<Vec<KeyEntry>, KeyringError> {
        let settings = self.settings()?;
        if let (Some(_), Some(caveat)) = (&settings.object_group, self.profile.object_group_caveat)
        {
            self.platform.log(LogLevel::Warning, caveat);
        }
        let mut queue = self.located(&settings, true)?;
        let mut entries = Vec::new();
        while !queue.is_empty() {
            let take = match settings.strategy {
                LoadStrategy::Batched => settings.fetch_batch_size as usize,
                LoadStrategy::PerObject => 1,
            };
            let batch: Vec<Fetch> = queue.drain(..take.min(queue.len())).collect();
            let answers = self.fetch(&batch, settings.strategy)?;
            for (mut fetch, (attrs, get)) in batch.into_iter().zip(answers) {
                match self.read_object(&fetch, attrs, get)? {
                    Read::Key(entry) => entries.push(entry),
                    Read::Skipped => {}
                    Read::AgainInRegisteredFormat => queue.push_back(Fetch {
                        raw: false,
                        ..fetch
                    }),
                    Read::Unanswered => {
                        fetch.unanswered += 1;
                        if fetch.unanswered >= MAX_UNANSWERED {
                            return Err(KeyringError::MalformedResponse(format!(
                                "the server left the Get of object {} unanswered \
                                 {MAX_UNANSWERED} times",
                                fetch.id
                            )));
                        }
                        queue.push_back(fetch);
                    }
                }
            }
        }
        self.platform.log(
            LogLevel::Info,
            &format!("loaded {} keys from the KMIP server", entries.len()),
        );
        Ok(entries)
    }

    /// Every object of the keyring's types (Symmetric Key, and Secret Data where the
    /// server family stores it), listed and queued to be read; `raw_keys` asks for
    /// symmetric keys in the Raw format the cache needs.
    pub(super) fn located(
        &mut self,
        settings: &Settings,
        raw_keys: bool,
    ) -> Result<VecDeque<Fetch>, KeyringError> {
        let mut types = vec![ObjectType::SymmetricKey];
        if self.profile.secret_data {
            types.push(ObjectType::SecretData);
        }
        Ok(self
            .list(&types, settings)?
            .into_iter()
            .map(|(id, object_type)| Fetch {
                id,
                key_type: key_type_of(object_type),
                raw: raw_keys && object_type == ObjectType::SymmetricKey,
                unanswered: 0,
            })
            .collect())
    }

    /// Lists every object of `types`: Locate rounds, each one message with the next page
    /// of every kind still being listed; kinds that cannot be paged are split.
    fn list(
        &mut self,
        types: &[ObjectType],
        settings: &Settings,
    ) -> Result<Vec<(String, ObjectType)>, KeyringError> {
        let group = settings.object_group.as_deref();
        let paged = self
            .session
            .ensure_open(&mut self.platform)?
            .has_offset_items();
        let mut listings: Vec<Listing> = types
            .iter()
            .map(|t| Listing::new(Kind::all(*t), settings.locate_page_size, paged))
            .collect();
        let mut found: Vec<(String, ObjectType)> = Vec::new();
        let mut known = std::collections::HashSet::new();
        let mut rounds_without_answer = 0;
        while !listings.is_empty() {
            let pages: Vec<(usize, Kind, i32, Option<i32>)> = listings
                .iter()
                .enumerate()
                .filter_map(|(i, l)| {
                    l.next_page()
                        .map(|(max, offset)| (i, l.kind(), max, offset))
                })
                .collect();
            let answers = self.session.exchange(
                &mut self.platform,
                || {
                    pages
                        .iter()
                        .map(|(_, kind, max, offset)| {
                            request::locate(
                                kind.object_type,
                                group,
                                kind.filter,
                                Some(*max),
                                *offset,
                            )
                        })
                        .collect()
                },
                Idempotence::Retry,
            )?;
            let mut answered = false;
            for ((index, ..), answer) in pages.iter().zip(answers) {
                let listing = &mut listings[*index];
                let Some(item) = answer else { continue };
                answered = true;
                match response::payload_of(item, Operation::Locate) {
                    Ok(Some(ResponsePayload::Locate(p))) => listing.accept(
                        p.located_items,
                        p.unique_identifiers.into_iter().map(|u| u.0).collect(),
                    ),
                    Ok(None) => listing.accept(None, Vec::new()),
                    Ok(Some(_)) => return Err(wrong_payload(Operation::Locate)),
                    Err(e)
                        if listing.kind().object_type == ObjectType::SecretData
                            && refuses_secret_data(&e) =>
                    {
                        self.platform.log(
                            LogLevel::Warning,
                            &format!(
                                "the KMIP server refused to locate Secret Data ({e}); \
                                 loading no SECRET keys from it"
                            ),
                        );
                        listing.finish_empty();
                    }
                    Err(e) => return Err(e),
                }
            }
            rounds_without_answer = if answered {
                0
            } else {
                rounds_without_answer + 1
            };
            if rounds_without_answer >= MAX_UNANSWERED {
                return Err(KeyringError::MalformedResponse(
                    "the server answered none of the Locate requests, three times".into(),
                ));
            }
            let mut next = Vec::new();
            for mut listing in listings {
                let kind = listing.kind();
                match listing.take_outcome() {
                    None => next.push(listing),
                    Some(Outcome::Complete(ids)) => {
                        for id in ids {
                            if known.insert(id.clone()) {
                                found.push((id, kind.object_type));
                            }
                        }
                    }
                    Some(Outcome::Full(ids)) => {
                        let Some(parts) = kind.split() else {
                            return Err(KeyringError::IncompleteListing(format!(
                                "the KMIP server returned {} identifiers, a full answer, for \
                                 {} and it cannot page (it ignores Offset Items, or speaks \
                                 KMIP before 1.3), so it may hold more than it lists; the \
                                 load is refused rather than miss a key. Keep fewer objects \
                                 per object group, or use a server that pages",
                                ids.len(),
                                kind.describe(group)
                            )));
                        };
                        self.platform.log(
                            LogLevel::Info,
                            &format!(
                                "the KMIP server listed a full page of {} for {} and \
                                 cannot page; listing it in {} parts",
                                ids.len(),
                                kind.describe(group),
                                parts.len()
                            ),
                        );
                        for id in ids {
                            if known.insert(id.clone()) {
                                found.push((id, kind.object_type));
                            }
                        }
                        next.extend(
                            parts
                                .into_iter()
                                .map(|part| Listing::new(part, settings.locate_page_size, paged)),
                        );
                    }
                    Some(Outcome::Failed(e)) => return Err(e),
                }
            }
            listings = next;
        }
        Ok(found)
    }

    /// Get Attributes and Get of each object, in that order (a server that stops a batch
    /// at a failed item has then always answered the Get Attributes that tells whether the
    /// object is gone): one message for the batch, or (Percona's strategy, for
    /// benchmarks) one message per request.
    pub(super) fn fetch(
        &mut self,
        batch: &[Fetch],
        strategy: LoadStrategy,
    ) -> Result<Vec<FetchAnswers>, KeyringError> {
        let get = |f: &Fetch| {
            if f.raw {
                request::get_raw(&f.id)
            } else {
                request::get(&f.id)
            }
        };
        if strategy == LoadStrategy::PerObject {
            let mut answers = Vec::new();
            for f in batch {
                let attrs = self.session.exchange_one(
                    &mut self.platform,
                    || request::get_load_attributes(&f.id),
                    Idempotence::Retry,
                )?;
                let get =
                    self.session
                        .exchange_one(&mut self.platform, || get(f), Idempotence::Retry)?;
                answers.push((Some(attrs), Some(get)));
            }
            return Ok(answers);
        }
        let mut items = self
            .session
            .exchange(
                &mut self.platform,
                || {
                    batch
                        .iter()
                        .flat_map(|f| [request::get_load_attributes(&f.id), get(f)])
                        .collect()
                },
                Idempotence::Retry,
            )?
            .into_iter();
        Ok(batch
            .iter()
            .map(|_| (items.next().flatten(), items.next().flatten()))
            .collect())
    }

    /// Decodes one object's Get Attributes and Get answers into a key, or says why not.
    fn read_object(
        &mut self,
        fetch: &Fetch,
        attrs: Option<BatchItem>,
        get: Option<BatchItem>,
    ) -> Result<Read, KeyringError> {
        let id = fetch.id.as_str();
        let Some(attrs) = attrs else {
            return Ok(Read::Unanswered);
        };
        let attributes = match response::payload_of(attrs, Operation::GetAttributes) {
            Ok(Some(ResponsePayload::GetAttributes(p))) => {
                ObjectAttributes::from_attributes(&p.attributes.unwrap_or_default())
            }
            Ok(_) => return Err(wrong_payload(Operation::GetAttributes)),
            Err(e) if e.means_gone() => {
                return Ok(self.skip(id, None, "it was removed after Locate found it"))
            }
            Err(e) => return Err(e),
        };
        let name = attributes.data_id().map(str::to_owned);
        if attributes.state == Some(State::PreActive) {
            // A Register whose Activate never happened: the store was never reported
            // successful to mysqld, so nothing can have been encrypted with it. Skipped
            // whatever its Get says: a server may refuse the material of an object that is
            // not Active (Cosmian KMS: Wrong Key Lifecycle State), which must not fail the
            // load.
            // A Note, not a Warning: it is the expected trace of a crash or an outage
            // mid-store, harmless to the keyring, and would otherwise raise every restart's
            // monitoring (and fail MySQL's tests that kill mysqld mid-rotation) until someone
            // destroys it; `keyring-kmip list` flags it for that.
            self.platform.log(
                LogLevel::Info,
                &skipping(
                    id,
                    name.as_deref(),
                    "it is PreActive, left by a store that did not complete; it was never \
                     reported stored and can be destroyed",
                ),
            );
            return Ok(Read::Skipped);
        }
        let Some(get) = get else {
            return Ok(Read::Unanswered);
        };
        let object = match response::payload_of(get, Operation::Get) {
            Ok(Some(ResponsePayload::Get(p))) => p,
            Ok(_) => return Err(wrong_payload(Operation::Get)),
            Err(e) if e.means_gone() || attributes.destroyed() => {
                let state = attributes
                    .state
                    .map_or_else(|| "gone".to_owned(), |s| format!("{s:?}"));
                return Ok(self.skip(id, name.as_deref(), &format!("it is {state} ({e})")));
            }
            Err(KeyringError::ServerFailure(f))
                if fetch.raw && f.is(ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED) =>
            {
                return Ok(Read::AgainInRegisteredFormat);
            }
            Err(KeyringError::ServerFailure(mut f)) => {
                f.message = format!(
                    "object {id} ({}, {}){}",
                    name.as_deref()
                        .map_or_else(|| "no Name".to_owned(), |n| format!("'{n}'")),
                    attributes
                        .state
                        .map_or_else(|| "no State".to_owned(), |s| format!("{s:?}")),
                    if f.message.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", f.message)
                    }
                );
                return Err(KeyringError::ServerFailure(f));
            }
            Err(e) => return Err(e),
        };
        if object.unique_identifier.0 != id {
            return Err(KeyringError::MalformedResponse(format!(
                "Get of object {id} returned object {}",
                object.unique_identifier.0
            )));
        }
        let expected_object = matches!(
            (fetch.key_type, &object.object),
            (KeyType::Aes, ManagedObject::SymmetricKey(_))
                | (KeyType::Secret, ManagedObject::SecretData(_))
        );
        if !expected_object {
            return Err(KeyringError::MalformedResponse(format!(
                "object {id} was located as {:?} but Get returned another object type",
                fetch.key_type
            )));
        }
        if attributes.state.is_none() {
            return Err(KeyringError::MalformedResponse(format!(
                "the server returned no State for object {id}, which the load needs to tell \
                 a stored key from a half-stored one"
            )));
        }
        let Some(data_id) = name else {
            return Ok(self.skip(id, None, "it has no Name"));
        };
        if attributes.names.len() > 1 {
            self.platform.log(
                LogLevel::Warning,
                &format!(
                    "KMIP object {id} has {} Names; its key is loaded under the first, '{data_id}'",
                    attributes.names.len()
                ),
            );
        }
        let material = object
            .object
            .key_block()
            .key_value
            .key_material
            .bytes()
            .clone();
        if material.as_slice().is_empty() {
            return Ok(self.skip(id, Some(&data_id), "it has no key material"));
        }
        if let Err(e) = fetch.key_type.check_length(material.as_slice().len()) {
            return Ok(self.skip(id, Some(&data_id), &format!("MySQL cannot use it ({e})")));
        }
        Ok(Read::Key(KeyEntry {
            object_id: id.to_owned(),
            data_id,
            auth_id: attributes.auth_id.unwrap_or_default(),
            key_type: fetch.key_type,
            data: material,
        }))
    }

    /// An object that is not a key of ours, or not a usable one: a Warning, as an operator
    /// should look at it.
    fn skip(&self, id: &str, name: Option<&str>, why: &str) -> Read {
        self.platform
            .log(LogLevel::Warning, &skipping(id, name, why));
        Read::Skipped
    }
}

/// The log line for an object the load skips.
fn skipping(id: &str, name: Option<&str>, why: &str) -> String {
    let named = name.map(|n| format!(" ('{n}')")).unwrap_or_default();
    format!("skipping KMIP object {id}{named}: {why}")
}
