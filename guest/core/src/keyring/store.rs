//! Store and generate: Register, then Activate, with recovery so that a store reported
//! failed never leaves a key the next load would find, and one reported done is Active.

use super::attributes::ObjectAttributes;
use super::{single_payload, wrong_payload, KeyEntry, KeyringLogic};
use crate::error::KeyringError;
use crate::key_type::KeyType;
use crate::kmip::request;
use crate::kmip::response::ResponsePayload;
use crate::kmip::SecretBytes;
use crate::platform::{LogLevel, Platform};
use crate::session::Idempotence;
use kmip_protocol::types::common::{ObjectType, Operation, State};
use zeroize::Zeroizing;

impl<P: Platform> KeyringLogic<P> {
    /// Registers a key, then activates it (two requests: servers such as PyKMIP do not
    /// accept an Activate that relies on the ID Placeholder). If Register succeeds but
    /// Activate does not, see [`Self::finish_activation`]: the store succeeds only if the
    /// object really is Active, and otherwise the object is revoked and destroyed again.
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
        let usage_mask = self.profile.symmetric_usage_mask;
        let register = || {
            vec![match key_type {
                KeyType::Aes => {
                    request::register_symmetric_key(data_id, group, auth_id, data, usage_mask)
                }
                KeyType::Secret => request::register_secret_data(data_id, group, auth_id, data),
            }]
        };
        let mut answers =
            match self
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
                        &format!(
                            "registering '{data_id}' got no answer ({lost}); registering again"
                        ),
                    );
                    self.session
                        .exchange(&mut self.platform, register, Idempotence::Once)?
                }
                other => other?,
            };
        let item = answers.pop().flatten().ok_or_else(|| {
            KeyringError::MalformedResponse("the server did not answer the Register".into())
        })?;
        let object_id = match single_payload(item, Operation::Register)? {
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
    /// A destroyed object that keeps its name on the server (its metadata stays) is not a
    /// clash for the keyring: it holds no key.
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
        let item = self.session.exchange_one(
            &mut self.platform,
            || request::locate_named(object_type, data_id, group),
            Idempotence::Retry,
        )?;
        let found = match single_payload(item, Operation::Locate)? {
            Some(ResponsePayload::Locate(p)) => p.unique_identifiers,
            None => Vec::new(),
            Some(_) => return Err(wrong_payload(Operation::Locate)),
        };
        for existing in found {
            match self.state_of(&existing.0) {
                Ok(Some(State::Destroyed | State::DestroyedCompromised)) => continue,
                Err(e) if e.means_gone() => continue,
                _ => {}
            }
            return Err(KeyringError::InvalidArgument(format!(
                "{} requires unique object names and '{data_id}' already names object {}; \
                 with this server a data_id can belong to one owner only",
                self.profile.name, existing.0
            )));
        }
        Ok(())
    }

    /// Sends one write request (never resent automatically) and checks its result.
    pub(super) fn write_once<'k>(
        &mut self,
        build: impl Fn() -> request::RequestPayload<'k>,
    ) -> Result<(), KeyringError> {
        let operation = build().operation();
        let item = self
            .session
            .exchange_one(&mut self.platform, build, Idempotence::Once)?;
        single_payload(item, operation).map(|_| ())
    }

    fn activate(&mut self, object_id: &str) -> Result<(), KeyringError> {
        self.write_once(|| request::activate(object_id))
    }

    /// Activates the object just registered. When Activate fails for any reason, the
    /// object's State is read back (on a fresh connection if this one broke): Active means
    /// stored (the answer was lost, or the server activated it at Register under an
    /// activation-date policy and so refused the Activate); PreActive after a lost answer
    /// gets one more Activate. Whatever cannot be completed is revoked and destroyed, so a
    /// failure reported to mysqld means the key is really not stored; when no server
    /// answers even that, the object is handed over by [`Self::take_left_on_server`].
    fn finish_activation(&mut self, object_id: &str, data_id: &str) -> Result<(), KeyringError> {
        let first = match self.activate(object_id) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let completed = match self.state_of(object_id) {
            Ok(Some(State::Active)) => Some(format!(
                "activating '{data_id}' failed ({first}), but object {object_id} is Active, \
                 so the key is stored"
            )),
            Ok(Some(State::PreActive)) if matches!(first, KeyringError::Transport(_)) => {
                self.activate(object_id).ok().map(|()| {
                    format!("activating '{data_id}' succeeded on the second attempt after: {first}")
                })
            }
            _ => None,
        };
        if let Some(message) = completed {
            self.platform.log(LogLevel::Info, &message);
            return Ok(());
        }
        Err(self.undo_register(object_id, data_id, first))
    }

    /// The object's State, read with Get Attributes (a read: retried on a fresh
    /// connection, which may be another server).
    pub(super) fn state_of(&mut self, object_id: &str) -> Result<Option<State>, KeyringError> {
        let item = self.session.exchange_one(
            &mut self.platform,
            || request::get_state(object_id),
            Idempotence::Retry,
        )?;
        let attributes = match single_payload(item, Operation::GetAttributes)? {
            Some(ResponsePayload::GetAttributes(p)) => p.attributes.unwrap_or_default(),
            _ => return Err(wrong_payload(Operation::GetAttributes)),
        };
        Ok(ObjectAttributes::from_attributes(&attributes).state)
    }

    /// Takes back a Register whose key cannot be stored: Revoke (a server may refuse to
    /// destroy an object that is Active, or was ever activated), then Destroy.
    fn undo_register(
        &mut self,
        object_id: &str,
        data_id: &str,
        cause: KeyringError,
    ) -> KeyringError {
        let revoked = self.write_once(|| request::revoke(object_id));
        match self.write_once(|| request::destroy(object_id)) {
            Ok(()) => self.platform.log(
                LogLevel::Warning,
                &format!("activating '{data_id}' failed; destroyed the new object {object_id}"),
            ),
            Err(e) => {
                self.platform.log(
                    LogLevel::Error,
                    &format!(
                        "activating '{data_id}' failed and taking the new object {object_id} \
                         back failed too (revoke: {}; destroy: {e}); it is left on the server \
                         and handed to the host, which keeps it out of loads and takes it back \
                         once a server answers",
                        revoked.map_or_else(|e| e.to_string(), |()| "done".to_owned())
                    ),
                );
                // The Activate may have taken effect (its answer lost), so a load could
                // find this object Active: only the caller, which outlives this call and
                // this instance, can keep it out and take it back later.
                self.left_on_server.push(object_id.to_owned());
            }
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
}
