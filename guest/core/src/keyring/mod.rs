//! The keyring operations as Percona's component performs them on the KMIP server, with
//! batching to save round trips: the public types and the logic's state here; the cache
//! fill in `load` (listing in `listing`), writes in `store` and `remove`, the operator's
//! view in `inventory`.

mod attributes;
mod inventory;
mod listing;
mod load;
mod remove;
mod store;

pub use inventory::ObjectSummary;

use crate::error::KeyringError;
use crate::key_type::KeyType;
use crate::kmip::response::{BatchItem, ResponsePayload};
use crate::kmip::SecretBytes;
use crate::platform::Platform;
use crate::session::Session;
use crate::vendor::{VendorProfile, GENERIC};
use kmip_protocol::types::common::Operation;

/// Settings for one keyring instance (mirrors the WIT `settings`; the component's values
/// come from its configuration, `kmip_keyring_config`).
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
    /// Objects registered for a store reported failed that could not be taken back,
    /// until [`KeyringLogic::take_left_on_server`] hands them over.
    left_on_server: Vec<String>,
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
            left_on_server: Vec::new(),
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
        if settings.locate_page_size < 2 || settings.fetch_batch_size == 0 {
            return Err(KeyringError::InvalidArgument(
                "locate-page-size must be at least 2 and fetch-batch-size at least 1".into(),
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

    /// Hands over the Unique Identifiers of objects left on the server by stores reported
    /// failed whose takeback failed too (see `store`'s `undo_register`); each once. The
    /// caller keeps them out of its cache and removes them when a server answers again.
    /// Does no I/O.
    pub fn take_left_on_server(&mut self) -> Vec<String> {
        std::mem::take(&mut self.left_on_server)
    }

    fn settings(&self) -> Result<Settings, KeyringError> {
        self.settings.clone().ok_or(KeyringError::NotConfigured)
    }
}

/// The payload of a single answered item, or the server's failure.
fn single_payload(
    item: BatchItem,
    operation: Operation,
) -> Result<Option<ResponsePayload>, KeyringError> {
    crate::kmip::response::payload_of(item, operation)
}

fn wrong_payload(operation: Operation) -> KeyringError {
    KeyringError::MalformedResponse(format!(
        "the {operation:?} result has no {operation:?} payload"
    ))
}
