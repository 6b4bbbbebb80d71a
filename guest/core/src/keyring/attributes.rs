//! What the keyring reads among an object's attributes: its Names, its owner and its State.

use crate::owner::AUTH_ID_NAMESPACE;
use kmip_protocol::types::common::{AttributeValue, State};
use kmip_protocol::types::response::Attribute;

/// The attributes a load and a store's recovery read.
#[derive(Debug, Default)]
pub(super) struct ObjectAttributes {
    /// Every Name, in the order the server listed them (KMIP allows several).
    pub names: Vec<String>,
    /// The owner recorded as Application Specific Information, if any.
    pub auth_id: Option<String>,
    /// The object's State; a server that answers without one is not trusted.
    pub state: Option<State>,
}

impl ObjectAttributes {
    pub(super) fn from_attributes(attributes: &[Attribute]) -> Self {
        let mut found = Self::default();
        for attribute in attributes {
            match &attribute.value {
                AttributeValue::Name(value, _) => found.names.push(value.0.clone()),
                AttributeValue::ApplicationSpecificInformation(ns, data)
                    if ns.0 == AUTH_ID_NAMESPACE =>
                {
                    found.auth_id = Some(data.0.clone());
                }
                AttributeValue::State(state) => found.state = Some(*state),
                _ => {}
            }
        }
        found
    }

    /// The Name MySQL knows the key by: the first one (Percona's component names each
    /// object once; another client may have added more, which are reported, not used).
    pub(super) fn data_id(&self) -> Option<&str> {
        self.names
            .first()
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// Whether the object's key material is gone for good.
    pub(super) fn destroyed(&self) -> bool {
        matches!(
            self.state,
            Some(State::Destroyed | State::DestroyedCompromised)
        )
    }
}
