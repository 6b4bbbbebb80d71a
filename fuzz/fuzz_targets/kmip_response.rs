// Fuzz target: kmip::response::decode on arbitrary bytes, then every payload reachable from a decoded message.
#![no_main]

use kmip_keyring_core::kmip::response::{self, ManagedObject, ResponsePayload};
use kmip_keyring_core::kmip::ProtocolVersion;
use kmip_keyring_core::KeyType;
use kmip_protocol::types::common::{AttributeValue, Operation};
use libfuzzer_sys::fuzz_target;

/// The operations the keyring sends; an item without an Operation is checked against one of
/// these, picked from the input so that every payload type can be asked for.
const OPERATIONS: [Operation; 8] = [
    Operation::Register,
    Operation::Locate,
    Operation::Get,
    Operation::GetAttributes,
    Operation::Activate,
    Operation::Revoke,
    Operation::Destroy,
    Operation::DiscoverVersions,
];

fuzz_target!(|data: &[u8]| {
    let message = match response::decode(data) {
        Ok(message) => message,
        Err(error) => {
            // Error messages are built from the input: formatting them must not panic.
            let _ = error.to_string();
            return;
        }
    };
    // Debug covers every decoded field (key material prints redacted).
    let _ = format!("{message:?}");
    let header = &message.header;
    let version =
        ProtocolVersion::new(header.protocol_version.major, header.protocol_version.minor);
    let _ = (version.to_string(), version.has_offset_items());
    let _ = (header.timestamp, header.batch_count);

    let salt = data.len();
    for (index, item) in message.batch_items.into_iter().enumerate() {
        let _ = item.unique_batch_item_id.as_ref().map(|id| id.0.len());
        let expected = item
            .operation
            .unwrap_or(OPERATIONS[(index + salt) % OPERATIONS.len()]);
        match response::payload_of(item, expected) {
            Ok(Some(payload)) => walk(payload),
            Ok(None) => {}
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
});

/// Reads every part of a payload the keyring reads.
fn walk(payload: ResponsePayload) {
    match payload {
        ResponsePayload::Register(p)
        | ResponsePayload::Activate(p)
        | ResponsePayload::Revoke(p)
        | ResponsePayload::Destroy(p) => {
            let _ = p.unique_identifier.0.len();
        }
        ResponsePayload::Locate(p) => {
            let _ = p.located_items;
            let total: usize = p.unique_identifiers.iter().map(|u| u.0.len()).sum();
            let _ = total;
        }
        ResponsePayload::Get(p) => {
            let _ = (p.object_type, p.unique_identifier.0.len());
            let block = p.object.key_block();
            let _ = block.key_format_type;
            let material = block.key_value.key_material.bytes().as_slice();
            let key_type = match &p.object {
                ManagedObject::SymmetricKey(_) => KeyType::Aes,
                ManagedObject::SecretData(s) => {
                    let _ = s.secret_data_type;
                    KeyType::Secret
                }
            };
            let _ = key_type
                .check_length(material.len())
                .map_err(|e| e.to_string());
            let _ = key_type.label();
        }
        ResponsePayload::GetAttributes(p) => {
            let _ = p.unique_identifier.0.len();
            for attribute in p.attributes.unwrap_or_default() {
                let _ = (attribute.name.0.len(), attribute.index.map(|i| i.0));
                match &attribute.value {
                    AttributeValue::Name(value, kind) => {
                        let _ = (value.0.len(), format!("{kind:?}"));
                    }
                    AttributeValue::ApplicationSpecificInformation(namespace, data) => {
                        let _ = (namespace.0.len(), data.0.len());
                    }
                    other => {
                        let _ = format!("{other:?}");
                    }
                }
            }
        }
        ResponsePayload::DiscoverVersions(p) => {
            let offered = p.versions();
            if let Some(chosen) = ProtocolVersion::choose(&offered) {
                assert!(
                    ProtocolVersion::SUPPORTED.contains(&chosen),
                    "negotiated {chosen}, which is not a supported version"
                );
            }
        }
    }
}
