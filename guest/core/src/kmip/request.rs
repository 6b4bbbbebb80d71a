//! KMIP request messages: a header with any 1.x version and one or more batch items.
//!
//! Tags are from the KMIP 1.4 specification, section 9.1.3.1. Each Rust type carries its
//! tag through `#[serde(rename)]`, which is how `kmip-ttlv` learns what to write.

use super::version::ProtocolVersion;
use crate::error::KeyringError;
use crate::owner::AUTH_ID_NAMESPACE;
use kmip_protocol::types::common::{
    ApplicationData, ApplicationNamespace, AttributeIndex, AttributeName, AttributeValue,
    CryptographicAlgorithm, CryptographicLength, KeyFormatType, ObjectType, Operation,
    RevocationMessage, RevocationReasonCode, State, UniqueBatchItemID, UniqueIdentifier,
};
use kmip_protocol::types::request::{
    Attribute, BatchCount, ProtocolVersion as WireVersion, ProtocolVersionMajor,
    ProtocolVersionMinor, RevocationReason, TemplateAttribute,
};
use serde_derive::Serialize;
use zeroize::Zeroizing;

/// Cryptographic Usage Mask Encrypt | Decrypt, as Percona registers symmetric keys.
pub const USAGE_ENCRYPT_DECRYPT: i32 = 0x04 | 0x08;
/// Encrypt | Decrypt | Export: for servers that refuse to return the key material of an
/// object registered without Export (Fortanix DSM).
pub const USAGE_ENCRYPT_DECRYPT_EXPORT_KEY: i32 = 0x04 | 0x08 | 0x40;
/// Cryptographic Usage Mask Encrypt | Decrypt | Export, as Percona registers secret data.
pub const USAGE_ENCRYPT_DECRYPT_EXPORT: i32 = 0x04 | 0x08 | 0x40;
/// The Revocation Message Percona's component sends when deleting a key.
pub const REVOCATION_MESSAGE: &str = "Deleting the key";

#[derive(Serialize)]
#[serde(rename = "0x420078")]
struct RequestMessage<'a>(RequestHeader, Vec<BatchItem<'a>>);

#[derive(Serialize)]
#[serde(rename = "0x420077")]
struct RequestHeader(
    WireVersion,
    #[serde(skip_serializing_if = "Option::is_none")] Option<BatchErrorContinuationOption>,
    BatchCount,
);

/// Batch Error Continuation Option (KMIP 1.0 section 6.13, 9.1.3.2.30): what the server
/// does with the rest of a batch after an item fails. Without it a server stops at the
/// first failure (Stop); the keyring asks every multi-item batch to Continue, so that one
/// object destroyed between a Locate and its Get does not leave the others unanswered.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename = "0x42000E")]
pub enum BatchErrorContinuationOption {
    /// Process the remaining items and report each one's result.
    #[serde(rename = "0x00000001")]
    Continue,
}

#[derive(Serialize)]
#[serde(rename = "0x42000F")]
struct BatchItem<'a>(
    Operation,
    #[serde(skip_serializing_if = "Option::is_none")] Option<UniqueBatchItemID>,
    RequestPayload<'a>,
);

/// Maximum Items (KMIP 1.0 section 4.9): how many identifiers a Locate may return.
#[derive(Serialize, Debug, Clone, Copy)]
#[serde(rename = "Transparent:0x42004F")]
pub struct MaximumItems(pub i32);

/// Offset Items (KMIP 1.3 section 4.9): how many matches a Locate skips first.
#[derive(Serialize, Debug, Clone, Copy)]
#[serde(rename = "Transparent:0x4200D4")]
pub struct OffsetItems(pub i32);

/// The payload of one request batch item.
#[derive(Serialize)]
#[serde(rename = "0x420079")]
pub enum RequestPayload<'a> {
    /// Register (4.3): object type, template attribute, the object.
    Register(ObjectType, TemplateAttribute, RegisteredObject<'a>),
    /// Activate (4.19).
    Activate(UniqueIdentifier),
    /// Revoke (4.20) with a revocation reason.
    Revoke(UniqueIdentifier, RevocationReason),
    /// Destroy (4.21).
    Destroy(UniqueIdentifier),
    /// Locate (4.9): maximum items, offset items (1.3+), attributes to match.
    Locate(
        #[serde(skip_serializing_if = "Option::is_none")] Option<MaximumItems>,
        #[serde(skip_serializing_if = "Option::is_none")] Option<OffsetItems>,
        Vec<Attribute>,
    ),
    /// Get (4.11), in the given key format or, without one, the registered format.
    Get(
        UniqueIdentifier,
        #[serde(skip_serializing_if = "Option::is_none")] Option<KeyFormatType>,
    ),
    /// Get Attributes (4.12) for the named attributes.
    GetAttributes(UniqueIdentifier, Vec<AttributeName>),
    /// Discover Versions (4.26, KMIP 1.1) with the versions the client speaks.
    DiscoverVersions(Vec<WireVersion>),
}

impl RequestPayload<'_> {
    /// The KMIP operation this payload belongs to.
    pub fn operation(&self) -> Operation {
        match self {
            Self::Register(..) => Operation::Register,
            Self::Activate(_) => Operation::Activate,
            Self::Revoke(..) => Operation::Revoke,
            Self::Destroy(_) => Operation::Destroy,
            Self::Locate(..) => Operation::Locate,
            Self::Get(..) => Operation::Get,
            Self::GetAttributes(..) => Operation::GetAttributes,
            Self::DiscoverVersions(_) => Operation::DiscoverVersions,
        }
    }
}

/// The managed object carried by a Register request; borrows the key bytes.
#[derive(Serialize)]
#[serde(untagged)]
pub enum RegisteredObject<'a> {
    /// A Symmetric Key (2.2.2).
    SymmetricKey(SymmetricKey<'a>),
    /// Secret Data (2.2.7): missing from kmip-protocol.
    SecretData(SecretData<'a>),
}

/// Symmetric Key object.
#[derive(Serialize)]
#[serde(rename = "0x42008F")]
pub struct SymmetricKey<'a>(KeyBlock<'a>);

/// Secret Data object: its type, then a key block.
#[derive(Serialize)]
#[serde(rename = "0x420085")]
pub struct SecretData<'a>(SecretDataType, KeyBlock<'a>);

/// Secret Data Type enumeration (9.1.3.2.9).
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename = "0x420086")]
pub enum SecretDataType {
    /// Password: what Percona's component registers.
    #[serde(rename = "0x00000001")]
    Password,
}

#[derive(Serialize)]
#[serde(rename = "0x420040")]
struct KeyBlock<'a>(
    KeyFormatType,
    KeyValue<'a>,
    #[serde(skip_serializing_if = "Option::is_none")] Option<CryptographicAlgorithm>,
    #[serde(skip_serializing_if = "Option::is_none")] Option<CryptographicLength>,
);

#[derive(Serialize)]
#[serde(rename = "0x420045")]
struct KeyValue<'a>(KeyMaterialRef<'a>);

#[derive(Serialize)]
#[serde(rename = "Transparent:0x420043")]
struct KeyMaterialRef<'a>(#[serde(with = "serde_bytes")] &'a [u8]);

/// The attributes common to every object we register: Name, Object Group, owner.
fn naming_attributes(name: &str, group: Option<&str>, auth_id: &str) -> Vec<Attribute> {
    let mut attributes = vec![Attribute::Name(name.to_owned())];
    if let Some(group) = group {
        attributes.push(Attribute::ObjectGroup(group.to_owned()));
    }
    if !auth_id.is_empty() {
        attributes.push(Attribute::ApplicationSpecificInformation(
            ApplicationNamespace(AUTH_ID_NAMESPACE.to_owned()),
            ApplicationData(auth_id.to_owned()),
        ));
    }
    attributes
}

fn integer_attribute(name: &str, value: i32) -> Attribute {
    Attribute(
        AttributeName(name.to_owned()),
        Option::<AttributeIndex>::None,
        AttributeValue::Integer(value),
    )
}

/// Register of an AES Symmetric Key, Raw format, as Percona's component does it (with its
/// usage mask, [`USAGE_ENCRYPT_DECRYPT`], unless a server profile needs another).
pub fn register_symmetric_key<'a>(
    name: &str,
    group: Option<&str>,
    auth_id: &str,
    key: &'a [u8],
    usage_mask: i32,
) -> RequestPayload<'a> {
    let bits = i32::try_from(key.len() * 8).unwrap_or(i32::MAX);
    let mut attributes = vec![
        Attribute::CryptographicAlgorithm(CryptographicAlgorithm::AES),
        Attribute::CryptographicLength(bits),
        integer_attribute("Cryptographic Usage Mask", usage_mask),
    ];
    attributes.extend(naming_attributes(name, group, auth_id));
    let block = KeyBlock(
        KeyFormatType::Raw,
        KeyValue(KeyMaterialRef(key)),
        Some(CryptographicAlgorithm::AES),
        Some(CryptographicLength(bits)),
    );
    RequestPayload::Register(
        ObjectType::SymmetricKey,
        TemplateAttribute::unnamed(attributes),
        RegisteredObject::SymmetricKey(SymmetricKey(block)),
    )
}

/// Register of Secret Data of type Password, Opaque format, as Percona's component does it.
pub fn register_secret_data<'a>(
    name: &str,
    group: Option<&str>,
    auth_id: &str,
    secret: &'a [u8],
) -> RequestPayload<'a> {
    let mut attributes = vec![integer_attribute(
        "Cryptographic Usage Mask",
        USAGE_ENCRYPT_DECRYPT_EXPORT,
    )];
    attributes.extend(naming_attributes(name, group, auth_id));
    let block = KeyBlock(
        KeyFormatType::Opaque,
        KeyValue(KeyMaterialRef(secret)),
        None,
        None,
    );
    RequestPayload::Register(
        ObjectType::SecretData,
        TemplateAttribute::unnamed(attributes),
        RegisteredObject::SecretData(SecretData(SecretDataType::Password, block)),
    )
}

/// Activate the object.
pub fn activate(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::Activate(UniqueIdentifier(object_id.to_owned()))
}

/// Revoke the object with reason Unspecified and Percona's message.
pub fn revoke(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::Revoke(
        UniqueIdentifier(object_id.to_owned()),
        RevocationReason(
            RevocationReasonCode::Unspecified,
            Some(RevocationMessage(REVOCATION_MESSAGE.to_owned())),
        ),
    )
}

/// Destroy the object.
pub fn destroy(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::Destroy(UniqueIdentifier(object_id.to_owned()))
}

/// What a Locate matches besides the Object Type and Object Group: the narrower filters
/// the load uses to split a listing that a server cannot page (see keyring/listing.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LocateFilter {
    /// The object's State.
    pub state: Option<State>,
    /// The Cryptographic Length, in bits.
    pub cryptographic_length: Option<i32>,
}

/// Locate objects of a type, optionally in an Object Group and narrowed by `filter`, one
/// page at a time.
pub fn locate(
    object_type: ObjectType,
    group: Option<&str>,
    filter: LocateFilter,
    maximum_items: Option<i32>,
    offset_items: Option<i32>,
) -> RequestPayload<'static> {
    let mut attributes = vec![Attribute::ObjectType(object_type)];
    if let Some(group) = group {
        attributes.push(Attribute::ObjectGroup(group.to_owned()));
    }
    if let Some(state) = filter.state {
        attributes.push(Attribute(
            AttributeName("State".to_owned()),
            Option::<AttributeIndex>::None,
            AttributeValue::State(state),
        ));
    }
    if let Some(bits) = filter.cryptographic_length {
        attributes.push(Attribute::CryptographicLength(bits));
    }
    RequestPayload::Locate(
        maximum_items.map(MaximumItems),
        offset_items.map(OffsetItems),
        attributes,
    )
}

/// Locate objects of a type with a given Name, optionally in an Object Group.
pub fn locate_named(
    object_type: ObjectType,
    name: &str,
    group: Option<&str>,
) -> RequestPayload<'static> {
    let mut attributes = vec![
        Attribute::ObjectType(object_type),
        Attribute::Name(name.to_owned()),
    ];
    if let Some(group) = group {
        attributes.push(Attribute::ObjectGroup(group.to_owned()));
    }
    RequestPayload::Locate(None, None, attributes)
}

/// Get the object in its registered format.
pub fn get(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::Get(UniqueIdentifier(object_id.to_owned()), None)
}

/// Get the object's key material as a Raw byte string (symmetric keys: a server may hold
/// them as Transparent Symmetric Keys and answer those by default).
pub fn get_raw(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::Get(
        UniqueIdentifier(object_id.to_owned()),
        Some(KeyFormatType::Raw),
    )
}

/// The attributes the cache fill reads for every object.
pub const LOAD_ATTRIBUTES: [&str; 3] = ["Name", "State", "Application Specific Information"];

/// Get Attributes for the attributes the cache fill needs.
pub fn get_load_attributes(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::GetAttributes(
        UniqueIdentifier(object_id.to_owned()),
        LOAD_ATTRIBUTES
            .iter()
            .map(|n| AttributeName((*n).to_owned()))
            .collect(),
    )
}

/// Get Attributes for the object's State only (to learn whether an Activate whose answer
/// was lost took effect).
pub fn get_state(object_id: &str) -> RequestPayload<'static> {
    RequestPayload::GetAttributes(
        UniqueIdentifier(object_id.to_owned()),
        vec![AttributeName("State".to_owned())],
    )
}

/// Discover Versions offering every version we speak, most preferred first.
pub fn discover_versions() -> RequestPayload<'static> {
    RequestPayload::DiscoverVersions(
        ProtocolVersion::SUPPORTED
            .iter()
            .map(|v| wire(*v))
            .collect(),
    )
}

fn wire(v: ProtocolVersion) -> WireVersion {
    WireVersion(ProtocolVersionMajor(v.major), ProtocolVersionMinor(v.minor))
}

/// The Unique Batch Item ID we give item `index` of a batch.
pub fn batch_item_id(index: usize) -> Vec<u8> {
    (index as u32).to_be_bytes().to_vec()
}

/// The index of the request item whose Unique Batch Item ID is `id`, if it is one of ours.
pub fn batch_item_index(id: &[u8]) -> Option<usize> {
    let bytes: [u8; 4] = id.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(bytes)).ok()
}

/// Encodes a request message with one batch item per payload. Items of a multi-item batch
/// carry Unique Batch Item IDs so responses can be matched to requests, and the header asks
/// the server to Continue past a failed item when `continue_on_error` is set. The buffer is
/// wiped on drop because a Register carries key material.
pub fn encode(
    version: ProtocolVersion,
    payloads: Vec<RequestPayload<'_>>,
) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
    encode_with(version, payloads, true)
}

/// As [`encode`], choosing whether a multi-item batch asks the server to Continue.
pub fn encode_with(
    version: ProtocolVersion,
    payloads: Vec<RequestPayload<'_>>,
    continue_on_error: bool,
) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
    let count = i32::try_from(payloads.len())
        .map_err(|_| KeyringError::InvalidArgument("too many batch items".into()))?;
    let numbered = payloads.len() > 1;
    let items = payloads
        .into_iter()
        .enumerate()
        .map(|(index, payload)| {
            let id = numbered.then(|| UniqueBatchItemID(batch_item_id(index)));
            BatchItem(payload.operation(), id, payload)
        })
        .collect();
    let continuation =
        (numbered && continue_on_error).then_some(BatchErrorContinuationOption::Continue);
    let message = RequestMessage(
        RequestHeader(wire(version), continuation, BatchCount(count)),
        items,
    );
    let mut out = Zeroizing::new(Vec::with_capacity(1024));
    kmip_ttlv::to_writer(&message, &mut *out)
        .map_err(|e| KeyringError::InvalidArgument(format!("cannot encode KMIP request: {e}")))?;
    Ok(out)
}
