//! What is in the object group, as an operator sees it: every object of the load's types
//! in every state, with its Names, owner, type, key length and State, and no key bytes
//! (`keyring-kmip list` and `check`).

use super::attributes::ObjectAttributes;
use super::load::{Fetch, MAX_UNANSWERED};
use super::{wrong_payload, KeyringLogic, LoadStrategy};
use crate::error::KeyringError;
use crate::key_type::KeyType;
use crate::kmip::response::{self, BatchItem, ResponsePayload};
use crate::kmip::ResultReason;
use crate::platform::Platform;
use kmip_protocol::types::common::{Operation, State};

/// One object in the group, without its key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    /// The server's Unique Identifier.
    pub object_id: String,
    /// Every Name, in the server's order; the first is MySQL's data_id.
    pub names: Vec<String>,
    /// MySQL's auth_id, when the object records an owner.
    pub auth_id: Option<String>,
    /// AES (a Symmetric Key) or SECRET (Secret Data).
    pub key_type: KeyType,
    /// The key material's length in bytes, when the server handed it out.
    pub length: Option<usize>,
    /// The KMIP State ("Active", "PreActive", ...), when the server reported one.
    pub state: Option<String>,
    /// Why the key material could not be read, if it could not.
    pub unreadable: Option<String>,
}

impl ObjectSummary {
    /// Whether the load would cache this object's key: it has a Name, a State that is not
    /// PreActive or destroyed, and readable material of a length MySQL can use (the load's
    /// own rules, `load::read_object`).
    pub fn would_load(&self) -> bool {
        let named = self.names.first().is_some_and(|n| !n.is_empty());
        let state_ok = !matches!(
            self.state.as_deref(),
            None | Some("PreActive" | "Destroyed" | "DestroyedCompromised" | "gone")
        );
        let material_ok = self.unreadable.is_none()
            && self
                .length
                .is_some_and(|n| self.key_type.check_length(n).is_ok());
        named && state_ok && material_ok
    }

    /// Registered but never activated: a store that did not complete left it, no key of
    /// MySQL's can be encrypted with it, and the load skips it.
    pub fn is_preactive_leftover(&self) -> bool {
        self.state.as_deref() == Some("PreActive")
    }
}

fn state_name(state: State) -> String {
    format!("{state:?}")
}

impl<P: Platform> KeyringLogic<P> {
    /// Lists every object of the load's types in the configured group, in any State, as
    /// the load lists them (the same paging, the same batches of Get Attributes and Get);
    /// key bytes are read only to learn their length and are wiped at once.
    pub fn inventory(&mut self) -> Result<Vec<ObjectSummary>, KeyringError> {
        let settings = self.settings()?;
        // The registered format: a listing needs the length, not Raw bytes.
        let mut queue = self.located(&settings, false)?;
        let mut found = Vec::new();
        while !queue.is_empty() {
            let take = (settings.fetch_batch_size as usize).min(queue.len());
            let batch: Vec<Fetch> = queue.drain(..take).collect();
            let answers = self.fetch(&batch, LoadStrategy::Batched)?;
            for (mut fetch, (attrs, get)) in batch.into_iter().zip(answers) {
                match summarize(&fetch, attrs, get)? {
                    Some(summary) => found.push(summary),
                    None => {
                        fetch.unanswered += 1;
                        if fetch.unanswered >= MAX_UNANSWERED {
                            return Err(KeyringError::MalformedResponse(format!(
                                "the server left object {} unanswered {MAX_UNANSWERED} times",
                                fetch.id
                            )));
                        }
                        queue.push_back(fetch);
                    }
                }
            }
        }
        Ok(found)
    }
}

/// One object's summary from its answers; `None` when the server stopped the batch before
/// them (ask again).
fn summarize(
    fetch: &Fetch,
    attrs: Option<BatchItem>,
    get: Option<BatchItem>,
) -> Result<Option<ObjectSummary>, KeyringError> {
    // Get Attributes first, as the load reads them: a server that stops a batch at a
    // failed item has then answered the one that says the object is gone.
    let Some(attrs) = attrs else {
        return Ok(None);
    };
    let mut summary = ObjectSummary {
        object_id: fetch.id.clone(),
        names: Vec::new(),
        auth_id: None,
        key_type: fetch.key_type,
        length: None,
        state: None,
        unreadable: None,
    };
    match response::payload_of(attrs, Operation::GetAttributes) {
        Ok(Some(ResponsePayload::GetAttributes(p))) => {
            let attributes = ObjectAttributes::from_attributes(&p.attributes.unwrap_or_default());
            summary.names = attributes.names;
            summary.auth_id = attributes.auth_id;
            summary.state = attributes.state.map(state_name);
        }
        Ok(_) => return Err(wrong_payload(Operation::GetAttributes)),
        Err(e) if e.means_gone() => {
            summary.state = Some("gone".into());
            summary.unreadable = Some(format!("removed after Locate found it ({e})"));
            return Ok(Some(summary));
        }
        Err(e) => return Err(e),
    }
    let Some(get) = get else {
        return Ok(None);
    };
    let not_active = matches!(
        summary.state.as_deref(),
        Some("PreActive" | "Destroyed" | "DestroyedCompromised")
    );
    match response::payload_of(get, Operation::Get) {
        Ok(Some(ResponsePayload::Get(object))) => {
            if object.unique_identifier.0 != fetch.id {
                return Err(KeyringError::MalformedResponse(format!(
                    "Get of object {} returned object {}",
                    fetch.id, object.unique_identifier.0
                )));
            }
            let material = object.object.key_block().key_value.key_material.bytes();
            summary.length = Some(material.as_slice().len());
        }
        Ok(_) => return Err(wrong_payload(Operation::Get)),
        // A server may refuse the material of an object that is not Active (Cosmian:
        // WrongKeyLifecycleState), or of one being destroyed: reported, not fatal, as the
        // load skips these too.
        Err(KeyringError::ServerFailure(f))
            if not_active
                || f.reason.is_some_and(|r| {
                    r.means_gone() || r == ResultReason::WRONG_KEY_LIFECYCLE_STATE
                }) =>
        {
            summary.unreadable = Some(KeyringError::ServerFailure(f).to_string());
        }
        Err(e) => return Err(e),
    }
    Ok(Some(summary))
}
