//! The keyring operations: cache fill, store, generate, remove, as Percona's component
//! performs them on the KMIP server, with batching to save round trips.

use crate::error::KeyringError;
use crate::key_type::KeyType;
use crate::kmip::request;
use crate::kmip::response::{BatchItem, ManagedObject, ResponsePayload};
use crate::kmip::SecretBytes;
use crate::owner::AUTH_ID_NAMESPACE;
use crate::platform::{LogLevel, Platform};
use crate::session::{Idempotence, Session};
use crate::vendor::{VendorProfile, GENERIC};
use kmip_protocol::types::common::{AttributeValue, ObjectType, Operation, State};
use kmip_protocol::types::response::Attribute;
use zeroize::Zeroizing;

/// Settings for one keyring instance (mirrors the WIT `settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// KMIP Object Group to register into and load from; `None` for no group.
    pub object_group: Option<String>,
    /// Identifiers per Locate page.
    pub locate_page_size: u32,
    /// Objects per batched Get/Get Attributes request.
    pub fetch_batch_size: u32,
    /// How the cache fill reads objects. Not part of the WIT settings: the sandboxed guest
    /// always batches; the other strategy exists so the benchmark can compare, with this
    /// same code, against the way Percona's component loads.
    pub strategy: LoadStrategy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            object_group: None,
            locate_page_size: 10_000,
            fetch_batch_size: 100,
            strategy: LoadStrategy::default(),
        }
    }
}

/// How [`KeyringLogic::load_all`] reads the objects that Locate found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadStrategy {
    /// Get and Get Attributes for up to `fetch_batch_size` objects per request message.
    #[default]
    Batched,
    /// Percona's way, for benchmarks only: one Get message and one Get Attributes message
    /// per object, so two round trips per key.
    PerObject,
}

/// One key read from or written to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The server's Unique Identifier.
    pub object_id: String,
    /// MySQL data_id (the KMIP Name).
    pub data_id: String,
    /// MySQL auth_id; empty when the key has no owner.
    pub auth_id: String,
    /// AES or SECRET.
    pub key_type: KeyType,
    /// The key material, wiped on drop.
    pub data: SecretBytes,
}

/// The session as reported for status rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionStatus {
    /// Index of the server the open connection talks to.
    pub server_index: Option<u32>,
    /// Negotiated protocol version, as "1.4".
    pub protocol_version: Option<String>,
}

/// The keyring logic over a platform.
pub struct KeyringLogic<P: Platform> {
    platform: P,
    profile: VendorProfile,
    settings: Option<Settings>,
    session: Session<P::Conn>,
}

impl<P: Platform> KeyringLogic<P> {
    /// A keyring over `platform` with the generic profile, not yet configured.
    pub fn new(platform: P) -> Self {
        Self::with_profile(platform, GENERIC)
    }

    /// A keyring over `platform` for a vendor's server family, not yet configured.
    pub fn with_profile(platform: P, profile: VendorProfile) -> Self {
        Self {
            platform,
            profile,
            settings: None,
            session: Session::new(),
        }
    }

    /// The platform (tests inspect their scripted peers through it).
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Accepts the settings; an empty Object Group means none. Does no I/O.
    pub fn configure(&mut self, mut settings: Settings) -> Result<(), KeyringError> {
        if settings.object_group.as_deref() == Some("") {
            settings.object_group = None;
        }
        if settings.locate_page_size == 0 || settings.fetch_batch_size == 0 {
            return Err(KeyringError::InvalidArgument(
                "locate-page-size and fetch-batch-size must be at least 1".into(),
            ));
        }
        self.settings = Some(settings);
        Ok(())
    }

    /// Reports the session. Does no I/O.
    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            server_index: self.session.server_index(),
            protocol_version: self.session.version().map(|v| v.to_string()),
        }
    }

    fn settings(&self) -> Result<Settings, KeyringError> {
        self.settings.clone().ok_or(KeyringError::NotConfigured)
    }

    /// Reads every Symmetric Key and Secret Data object in the configured group.
    pub fn load_all(&mut self) -> Result<Vec<KeyEntry>, KeyringError> {
        let settings = self.settings()?;
        let mut kinds = vec![(ObjectType::SymmetricKey, KeyType::Aes)];
        if self.profile.secret_data {
            kinds.push((ObjectType::SecretData, KeyType::Secret));
        }
        let types: Vec<ObjectType> = kinds.iter().map(|(t, _)| *t).collect();
        let first_pages = self.locate_first_pages(&types, &settings)?;
        let mut entries = Vec::new();
        for ((object_type, key_type), first_page) in kinds.into_iter().zip(first_pages) {
            let ids = self.locate_rest(object_type, &settings, first_page)?;
            match settings.strategy {
                LoadStrategy::Batched => {
                    for chunk in ids.chunks(settings.fetch_batch_size as usize) {
                        self.fetch_batch(chunk, key_type, &mut entries)?;
                    }
                }
                LoadStrategy::PerObject => {
                    for id in &ids {
                        self.fetch_one(id, key_type, &mut entries)?;
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

    /// One Locate request for page `offset` of `object_type`, paged by Maximum Items /
    /// Offset Items where the version allows it.
    fn locate_request(
        object_type: ObjectType,
        settings: &Settings,
        paged: bool,
        offset: usize,
    ) -> request::RequestPayload<'_> {
        let group = settings.object_group.as_deref();
        let page = i32::try_from(settings.locate_page_size).unwrap_or(i32::MAX);
        let offset = i32::try_from(offset).unwrap_or(i32::MAX);
        if paged {
            request::locate(object_type, group, Some(page), Some(offset))
        } else {
            request::locate(object_type, group, None, None)
        }
    }

    /// The first Locate page of every object type, all in one request message (a round
    /// trip saved per type).
    fn locate_first_pages(
        &mut self,
        types: &[ObjectType],
        settings: &Settings,
    ) -> Result<Vec<Vec<String>>, KeyringError> {
        let paged = self
            .session
            .ensure_open(&mut self.platform)?
            .has_offset_items();
        let items = self.session.exchange(
            &mut self.platform,
            || {
                types
                    .iter()
                    .map(|t| Self::locate_request(*t, settings, paged, 0))
                    .collect()
            },
            Idempotence::Retry,
        )?;
        if items.len() != types.len() {
            let received = items.len();
            return Err(first_failure(items).unwrap_or_else(|| {
                KeyringError::MalformedResponse(format!(
                    "{received} items answer a batch of {} Locates",
                    types.len()
                ))
            }));
        }
        items.into_iter().map(located_ids).collect()
    }

    /// The pages after the first, while the last one was full.
    fn locate_rest(
        &mut self,
        object_type: ObjectType,
        settings: &Settings,
        mut ids: Vec<String>,
    ) -> Result<Vec<String>, KeyringError> {
        let page = settings.locate_page_size as usize;
        let mut last_page = ids.len();
        loop {
            let paged = self
                .session
                .ensure_open(&mut self.platform)?
                .has_offset_items();
            if !paged || last_page < page {
                return Ok(ids);
            }
            let offset = ids.len();
            let mut items = self.session.exchange(
                &mut self.platform,
                || vec![Self::locate_request(object_type, settings, paged, offset)],
                Idempotence::Retry,
            )?;
            let found = located_ids(items.remove(0))?;
            last_page = found.len();
            ids.extend(found);
        }
    }

    /// One batched request: Get and Get Attributes for each identifier.
    fn fetch_batch(
        &mut self,
        ids: &[String],
        key_type: KeyType,
        out: &mut Vec<KeyEntry>,
    ) -> Result<(), KeyringError> {
        let items = self.session.exchange(
            &mut self.platform,
            || {
                ids.iter()
                    .flat_map(|id| [request::get(id), request::get_load_attributes(id)])
                    .collect()
            },
            Idempotence::Retry,
        )?;
        let (sent, received) = (ids.len() * 2, items.len());
        if received != sent {
            return Err(first_failure(items).unwrap_or_else(|| {
                KeyringError::MalformedResponse(format!(
                    "{received} items answer a batch of {sent}"
                ))
            }));
        }
        let mut items = items.into_iter();
        for id in ids {
            let (Some(get), Some(attrs)) = (items.next(), items.next()) else {
                unreachable!("length checked above")
            };
            if let Some(entry) = self.decode_object(id, key_type, get, attrs)? {
                out.push(entry);
            }
        }
        Ok(())
    }

    /// Percona's way: a Get message, then a Get Attributes message, for one object.
    fn fetch_one(
        &mut self,
        id: &str,
        key_type: KeyType,
        out: &mut Vec<KeyEntry>,
    ) -> Result<(), KeyringError> {
        let mut single = |payload: fn(&str) -> request::RequestPayload<'static>| {
            self.session
                .exchange(&mut self.platform, || vec![payload(id)], Idempotence::Retry)
                .map(|mut items| items.remove(0))
        };
        let get = single(request::get)?;
        let attrs = single(request::get_load_attributes)?;
        if let Some(entry) = self.decode_object(id, key_type, get, attrs)? {
            out.push(entry);
        }
        Ok(())
    }

    fn decode_object(
        &mut self,
        id: &str,
        key_type: KeyType,
        get: BatchItem,
        attrs: BatchItem,
    ) -> Result<Option<KeyEntry>, KeyringError> {
        let object = match crate::kmip::response::payload_of(get, Operation::Get)? {
            Some(ResponsePayload::Get(p)) => p,
            _ => return Err(wrong_payload(Operation::Get)),
        };
        if object.unique_identifier.0 != id {
            return Err(KeyringError::MalformedResponse(format!(
                "Get of object {id} returned object {}",
                object.unique_identifier.0
            )));
        }
        let expected_object = matches!(
            (key_type, &object.object),
            (KeyType::Aes, ManagedObject::SymmetricKey(_))
                | (KeyType::Secret, ManagedObject::SecretData(_))
        );
        if !expected_object {
            return Err(KeyringError::MalformedResponse(format!(
                "object {id} was located as {key_type:?} but Get returned another object type"
            )));
        }
        let attributes = match crate::kmip::response::payload_of(attrs, Operation::GetAttributes)? {
            Some(ResponsePayload::GetAttributes(p)) => p.attributes.unwrap_or_default(),
            _ => return Err(wrong_payload(Operation::GetAttributes)),
        };
        let names = LoadedNames::from_attributes(&attributes);
        let Some(data_id) = names.data_id.filter(|n| !n.is_empty()) else {
            self.platform.log(
                LogLevel::Warning,
                &format!("skipping KMIP object {id}: it has no Name"),
            );
            return Ok(None);
        };
        if names.state == Some(State::PreActive) {
            // A Register whose Activate never happened: the store was never reported
            // successful to mysqld, so nothing can have been encrypted with it.
            self.platform.log(
                LogLevel::Warning,
                &format!(
                    "skipping KMIP object {id} ('{data_id}'): it is PreActive, left by a store \
                     that did not complete; it was never reported stored and can be destroyed"
                ),
            );
            return Ok(None);
        }
        let material = object.object.key_block().key_value.key_material.clone();
        if material.as_slice().is_empty() {
            self.platform.log(
                LogLevel::Warning,
                &format!("skipping KMIP object {id} ('{data_id}'): it has no key material"),
            );
            return Ok(None);
        }
        Ok(Some(KeyEntry {
            object_id: id.to_owned(),
            data_id,
            auth_id: names.auth_id.unwrap_or_default(),
            key_type,
            data: material,
        }))
    }

    /// Registers a key, then activates it (two requests: servers such as PyKMIP do not
    /// accept an Activate that relies on the ID Placeholder). If Register succeeds but
    /// Activate does not, see [`Self::finish_activation`]: the store succeeds only if the
    /// object really is Active, and otherwise the object is destroyed again.
    pub fn store(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        data: &[u8],
    ) -> Result<String, KeyringError> {
        let settings = self.settings()?;
        if data_id.is_empty() {
            return Err(KeyringError::InvalidArgument(
                "data_id must not be empty".into(),
            ));
        }
        let key_type = KeyType::parse(key_type)?;
        key_type.check_length(data.len())?;
        if key_type == KeyType::Secret && !self.profile.secret_data {
            return Err(KeyringError::InvalidArgument(format!(
                "{} does not store KMIP Secret Data, so SECRET keys (keyring_udf secrets) \
                 cannot be kept on it; store AES keys, or use another KMIP server",
                self.profile.name
            )));
        }
        let group = settings.object_group.as_deref();
        if self.profile.unique_names {
            self.check_name_is_free(data_id, key_type, group)?;
        }
        let register = || {
            vec![match key_type {
                KeyType::Aes => request::register_symmetric_key(data_id, group, auth_id, data),
                KeyType::Secret => request::register_secret_data(data_id, group, auth_id, data),
            }]
        };
        let items = match self
            .session
            .exchange(&mut self.platform, register, Idempotence::Once)
        {
            // The answer was lost. If the Register took effect its object stays PreActive,
            // which loads skip, so registering again (on the next server, if this one is
            // gone) cannot make a duplicate key: only where names must be unique would
            // the leftover be in the way.
            Err(KeyringError::Transport(lost)) if !self.profile.unique_names => {
                self.platform.log(
                    LogLevel::Warning,
                    &format!("registering '{data_id}' got no answer ({lost}); registering again"),
                );
                self.session
                    .exchange(&mut self.platform, register, Idempotence::Once)?
            }
            other => other?,
        };
        let object_id = match single_payload(items, Operation::Register)? {
            Some(ResponsePayload::Register(p)) => p.unique_identifier.0,
            _ => return Err(wrong_payload(Operation::Register)),
        };
        self.finish_activation(&object_id, data_id)?;
        self.platform.log(
            LogLevel::Info,
            &format!(
                "stored {} key '{data_id}' as KMIP object {object_id}",
                key_type.label()
            ),
        );
        Ok(object_id)
    }

    /// For servers with unique names: Locate the Name first and report a clash ourselves.
    fn check_name_is_free(
        &mut self,
        data_id: &str,
        key_type: KeyType,
        group: Option<&str>,
    ) -> Result<(), KeyringError> {
        let object_type = match key_type {
            KeyType::Aes => ObjectType::SymmetricKey,
            KeyType::Secret => ObjectType::SecretData,
        };
        let items = self.session.exchange(
            &mut self.platform,
            || vec![request::locate_named(object_type, data_id, group)],
            Idempotence::Retry,
        )?;
        let found = match single_payload(items, Operation::Locate)? {
            Some(ResponsePayload::Locate(p)) => p.unique_identifiers,
            None => Vec::new(),
            Some(_) => return Err(wrong_payload(Operation::Locate)),
        };
        match found.first() {
            None => Ok(()),
            Some(existing) => Err(KeyringError::InvalidArgument(format!(
                "{} requires unique object names and '{data_id}' already names object {}; \
                 with this server a data_id can belong to one owner only",
                self.profile.name, existing.0
            ))),
        }
    }

    /// Sends one write request (never resent automatically) and checks its result.
    fn write_once<'k>(
        &mut self,
        build: impl Fn() -> request::RequestPayload<'k>,
    ) -> Result<(), KeyringError> {
        let operation = build().operation();
        let mut items =
            self.session
                .exchange(&mut self.platform, || vec![build()], Idempotence::Once)?;
        single_checked(items.remove(0), operation)
    }

    fn activate(&mut self, object_id: &str) -> Result<(), KeyringError> {
        self.write_once(|| request::activate(object_id))
    }

    /// Activates the object just registered. When the answer is lost (the connection
    /// broke, the deadline passed) the Activate may or may not have happened, so the
    /// object's State is read back on a fresh connection: Active means stored; PreActive
    /// gets one more Activate. Whatever cannot be completed is destroyed, so a failure
    /// reported to mysqld means the key is really not stored.
    fn finish_activation(&mut self, object_id: &str, data_id: &str) -> Result<(), KeyringError> {
        let first = match self.activate(object_id) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if matches!(first, KeyringError::Transport(_)) {
            let completed = match self.state_of(object_id) {
                Ok(Some(State::Active)) => Some(format!(
                    "the answer to activating '{data_id}' was lost ({first}); \
                     object {object_id} is Active, so the key is stored"
                )),
                Ok(Some(State::PreActive)) => self.activate(object_id).ok().map(|()| {
                    format!("activating '{data_id}' succeeded on the second attempt after: {first}")
                }),
                _ => None,
            };
            if let Some(message) = completed {
                self.platform.log(LogLevel::Info, &message);
                return Ok(());
            }
        }
        Err(self.undo_register(object_id, data_id, first))
    }

    /// The object's State, read with Get Attributes (a read: retried on a fresh
    /// connection, which may be another server).
    fn state_of(&mut self, object_id: &str) -> Result<Option<State>, KeyringError> {
        let items = self.session.exchange(
            &mut self.platform,
            || vec![request::get_state(object_id)],
            Idempotence::Retry,
        )?;
        let attributes = match single_payload(items, Operation::GetAttributes)? {
            Some(ResponsePayload::GetAttributes(p)) => p.attributes.unwrap_or_default(),
            _ => return Err(wrong_payload(Operation::GetAttributes)),
        };
        Ok(LoadedNames::from_attributes(&attributes).state)
    }

    fn undo_register(
        &mut self,
        object_id: &str,
        data_id: &str,
        cause: KeyringError,
    ) -> KeyringError {
        match self.write_once(|| request::destroy(object_id)) {
            Ok(()) => self.platform.log(
                LogLevel::Warning,
                &format!("activating '{data_id}' failed; destroyed the new object {object_id}"),
            ),
            Err(e) => self.platform.log(
                LogLevel::Error,
                &format!(
                    "activating '{data_id}' failed and destroying the new object {object_id} \
                     failed too ({e}); it is left PreActive on the server"
                ),
            ),
        }
        cause
    }

    /// Draws random key material, then stores it as [`Self::store`] does.
    pub fn generate(
        &mut self,
        data_id: &str,
        auth_id: &str,
        key_type: &str,
        length: u32,
    ) -> Result<KeyEntry, KeyringError> {
        let parsed = KeyType::parse(key_type)?;
        parsed.check_length(length as usize)?;
        let mut data = Zeroizing::new(vec![0u8; length as usize]);
        self.platform.random_bytes(&mut data);
        let object_id = self.store(data_id, auth_id, key_type, &data)?;
        Ok(KeyEntry {
            object_id,
            data_id: data_id.to_owned(),
            auth_id: auth_id.to_owned(),
            key_type: parsed,
            data: SecretBytes(data),
        })
    }

    /// Revokes then destroys the object. A Revoke the server refuses (an object that was
    /// never activated, say) does not stop the Destroy; an object already gone counts as
    /// removed, so the caller's cache can agree with the server.
    pub fn remove(&mut self, object_id: &str) -> Result<(), KeyringError> {
        self.settings()?;
        if object_id.is_empty() {
            return Err(KeyringError::InvalidArgument(
                "object id must not be empty".into(),
            ));
        }
        let revoke = |this: &mut Self| this.write_once(|| request::revoke(object_id));
        // A Revoke whose answer was lost is sent once more (on the next server, if this
        // one is gone): revoking twice only draws a refusal, which does not stop the
        // Destroy below.
        let revoked = match revoke(self) {
            Err(KeyringError::Transport(lost)) => {
                self.platform.log(
                    LogLevel::Warning,
                    &format!("revoking KMIP object {object_id} got no answer ({lost}); again"),
                );
                revoke(self)
            }
            other => other,
        };
        if let Err(e) = revoked {
            if is_not_found(&e) {
                self.platform.log(
                    LogLevel::Warning,
                    &format!("KMIP object {object_id} was already gone from the server"),
                );
                return Ok(());
            }
            if !matches!(e, KeyringError::ServerFailure(_)) {
                return Err(e);
            }
            self.platform.log(
                LogLevel::Warning,
                &format!("Revoke of KMIP object {object_id} failed ({e}); destroying it anyway"),
            );
        }
        let destroy = |this: &mut Self| this.write_once(|| request::destroy(object_id));
        match destroy(self) {
            Err(e) if is_not_found(&e) => Ok(()),
            // The answer was lost: whether the object is gone decides what the caller's
            // cache must say; if it is still there, one more Destroy.
            Err(e @ KeyringError::Transport(_)) => match self.state_of(object_id) {
                Err(gone) if is_not_found(&gone) => {
                    self.platform.log(
                        LogLevel::Info,
                        &format!(
                            "the answer to destroying KMIP object {object_id} was lost ({e}); \
                             the object is gone, so it counts as removed"
                        ),
                    );
                    Ok(())
                }
                Ok(_) => match destroy(self) {
                    Err(again) if is_not_found(&again) => Ok(()),
                    other => other,
                },
                Err(_) => Err(e),
            },
            other => other,
        }
    }
}

/// The Name, the owner and the State found among an object's attributes.
struct LoadedNames {
    data_id: Option<String>,
    auth_id: Option<String>,
    state: Option<State>,
}

impl LoadedNames {
    fn from_attributes(attributes: &[Attribute]) -> Self {
        let mut names = Self {
            data_id: None,
            auth_id: None,
            state: None,
        };
        for attribute in attributes {
            match &attribute.value {
                AttributeValue::Name(value, _) if names.data_id.is_none() => {
                    names.data_id = Some(value.0.clone());
                }
                AttributeValue::ApplicationSpecificInformation(ns, data)
                    if ns.0 == AUTH_ID_NAMESPACE =>
                {
                    names.auth_id = Some(data.0.clone());
                }
                AttributeValue::State(state) => names.state = Some(*state),
                _ => {}
            }
        }
        names
    }
}

fn single_payload(
    mut items: Vec<BatchItem>,
    operation: Operation,
) -> Result<Option<ResponsePayload>, KeyringError> {
    crate::kmip::response::payload_of(items.remove(0), operation)
}

fn located_ids(item: BatchItem) -> Result<Vec<String>, KeyringError> {
    match crate::kmip::response::payload_of(item, Operation::Locate)? {
        Some(ResponsePayload::Locate(p)) => {
            Ok(p.unique_identifiers.into_iter().map(|u| u.0).collect())
        }
        None => Ok(Vec::new()),
        Some(_) => Err(wrong_payload(Operation::Locate)),
    }
}

fn single_checked(item: BatchItem, operation: Operation) -> Result<(), KeyringError> {
    crate::kmip::response::payload_of(item, operation).map(|_| ())
}

fn first_failure(items: Vec<BatchItem>) -> Option<KeyringError> {
    items.into_iter().find_map(|item| {
        let op = item.operation.unwrap_or(Operation::Get);
        crate::kmip::response::payload_of(item, op).err()
    })
}

fn wrong_payload(operation: Operation) -> KeyringError {
    KeyringError::MalformedResponse(format!(
        "the {operation:?} result has no {operation:?} payload"
    ))
}

fn is_not_found(e: &KeyringError) -> bool {
    matches!(e, KeyringError::ServerFailure(f) if f.reason == "ItemNotFound")
}
