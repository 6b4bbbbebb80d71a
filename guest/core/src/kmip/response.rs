//! KMIP response messages: decoding, batch-item matching and result checking.
//!
//! The payload of each batch item is chosen by its Operation (`kmip-ttlv`'s `if` matcher).
//! Managed objects include Secret Data, which kmip-protocol lacks; key material decodes into
//! [`SecretBytes`], wiped on drop.

use super::framing;
use super::result_reason::ResultReason;
use super::secret_bytes::SecretBytes;
use super::version::ProtocolVersion;
use crate::error::{KeyringError, ServerFailure};
use kmip_protocol::types::common::{KeyFormatType, ObjectType, Operation, UniqueIdentifier};
use kmip_protocol::types::response::{Attribute, ProtocolVersion as WireVersion};
use serde_derive::Deserialize;

/// A decoded response message.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007B")]
pub struct ResponseMessage {
    /// The response header.
    #[serde(rename = "0x42007A")]
    pub header: ResponseHeader,
    /// One item per request batch item.
    #[serde(rename = "0x42000F")]
    pub batch_items: Vec<BatchItem>,
}

/// The response header; optional 1.2+ fields in between are skipped.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007A")]
pub struct ResponseHeader {
    /// The version the server answered with.
    #[serde(rename = "0x420069")]
    pub protocol_version: WireVersion,
    /// Server time stamp.
    #[serde(rename = "0x420092")]
    pub timestamp: i64,
    /// Number of batch items.
    #[serde(rename = "0x42000D")]
    pub batch_count: i32,
}

/// Result Status (9.1.3.2.25).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename = "0x42007F")]
pub enum ResultStatus {
    /// Success.
    #[serde(rename = "0x00000000")]
    Success,
    /// Operation Failed.
    #[serde(rename = "0x00000001")]
    OperationFailed,
    /// Operation Pending (asynchronous; we never ask for it).
    #[serde(rename = "0x00000002")]
    OperationPending,
    /// Operation Undone (a batch was rolled back).
    #[serde(rename = "0x00000003")]
    OperationUndone,
}

/// One response batch item.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42000F")]
pub struct BatchItem {
    /// The operation (present because every request item names one).
    #[serde(rename = "0x42005C")]
    pub operation: Option<Operation>,
    /// Echo of the request item's Unique Batch Item ID.
    #[serde(rename = "0x420093")]
    pub unique_batch_item_id: Option<BatchItemId>,
    /// Success or failure.
    #[serde(rename = "0x42007F")]
    pub result_status: ResultStatus,
    /// Why it failed (any code, known or not).
    #[serde(rename = "0x42007E")]
    pub result_reason: Option<ResultReason>,
    /// The server's explanation.
    #[serde(rename = "0x42007D")]
    pub result_message: Option<String>,
    /// The payload, chosen by the operation.
    #[serde(rename = "0x42007C")]
    pub payload: Option<ResponsePayload>,
}

/// Unique Batch Item ID as received.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename = "0x420093")]
pub struct BatchItemId(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// The response payloads we decode, selected by the batch item's Operation.
#[derive(Debug, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum ResponsePayload {
    /// Register: the new object's identifier.
    #[serde(rename = "if 0x42005C==0x00000003")]
    Register(IdentifierPayload),
    /// Locate: the matching identifiers.
    #[serde(rename = "if 0x42005C==0x00000008")]
    Locate(LocatePayload),
    /// Get: the object.
    #[serde(rename = "if 0x42005C==0x0000000A")]
    Get(GetPayload),
    /// Get Attributes: the requested attributes.
    #[serde(rename = "if 0x42005C==0x0000000B")]
    GetAttributes(GetAttributesPayload),
    /// Activate: the identifier.
    #[serde(rename = "if 0x42005C==0x00000012")]
    Activate(IdentifierPayload),
    /// Revoke: the identifier.
    #[serde(rename = "if 0x42005C==0x00000013")]
    Revoke(IdentifierPayload),
    /// Destroy: the identifier.
    #[serde(rename = "if 0x42005C==0x00000014")]
    Destroy(IdentifierPayload),
    /// Discover Versions: the versions the server accepts, preferred first.
    #[serde(rename = "if 0x42005C==0x0000001E")]
    DiscoverVersions(DiscoverVersionsPayload),
}

/// A payload that carries only the object's identifier.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007C")]
pub struct IdentifierPayload {
    /// The object's Unique Identifier.
    #[serde(rename = "0x420094")]
    pub unique_identifier: UniqueIdentifier,
}

/// Locate response payload.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007C")]
pub struct LocatePayload {
    /// Located Items (1.3+), when the server reports the total.
    #[serde(rename = "0x4200D5")]
    pub located_items: Option<i32>,
    /// The matching identifiers.
    #[serde(rename = "0x420094", default)]
    pub unique_identifiers: Vec<UniqueIdentifier>,
}

/// Get response payload.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007C")]
pub struct GetPayload {
    /// Object Type.
    #[serde(rename = "0x420057")]
    pub object_type: ObjectType,
    /// The object's identifier.
    #[serde(rename = "0x420094")]
    pub unique_identifier: UniqueIdentifier,
    /// The object itself.
    pub object: ManagedObject,
}

/// The managed objects a keyring holds.
#[derive(Debug, Deserialize)]
pub enum ManagedObject {
    /// Symmetric Key.
    #[serde(rename = "if 0x420057==0x00000002")]
    SymmetricKey(SymmetricKey),
    /// Secret Data.
    #[serde(rename = "if 0x420057==0x00000007")]
    SecretData(SecretData),
}

impl ManagedObject {
    /// The key block, which holds the key material.
    pub fn key_block(&self) -> &KeyBlock {
        match self {
            Self::SymmetricKey(k) => &k.key_block,
            Self::SecretData(s) => &s.key_block,
        }
    }
}

/// Symmetric Key object.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42008F")]
pub struct SymmetricKey {
    /// Its key block.
    #[serde(rename = "0x420040")]
    pub key_block: KeyBlock,
}

/// Secret Data object.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420085")]
pub struct SecretData {
    /// Secret Data Type (Password, Seed, or any other value another client chose).
    #[serde(rename = "0x420086")]
    pub secret_data_type: SecretDataType,
    /// Its key block.
    #[serde(rename = "0x420040")]
    pub key_block: KeyBlock,
}

/// Secret Data Type as received: any value (Password is 1, Seed 2, others are
/// extensions); the keyring does not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretDataType(pub u32);

impl<'de> serde::Deserialize<'de> for SecretDataType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::result_reason::open_enumeration(deserializer, "0x420086").map(Self)
    }
}

/// Key Block as received.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420040")]
pub struct KeyBlock {
    /// Key Format Type.
    #[serde(rename = "0x420042")]
    pub key_format_type: KeyFormatType,
    /// Key Value.
    #[serde(rename = "0x420045")]
    pub key_value: KeyValue,
}

/// Key Value: the key material, raw or in a Transparent Symmetric Key structure.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420045")]
pub struct KeyValue {
    /// Key Material.
    #[serde(rename = "0x420043")]
    pub key_material: KeyMaterial,
}

/// Key Material (KMIP 1.4 section 2.1.4): a Byte String for the Raw and Opaque formats, a
/// structure holding the key for Transparent Symmetric Key (some servers keep symmetric
/// keys that way and answer a Get without a requested format in it).
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420043")]
pub enum KeyMaterial {
    /// Raw, Opaque: the bytes themselves.
    #[serde(rename = "if type==ByteString")]
    Bytes(SecretBytes),
    /// Transparent Symmetric Key: its Key field.
    #[serde(rename = "if type==Structure")]
    Transparent(TransparentSymmetricKey),
}

/// The Transparent Symmetric Key structure (KMIP 1.4 section 2.1.7.1).
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420043")]
pub struct TransparentSymmetricKey {
    /// Key.
    #[serde(rename = "0x42003F")]
    pub key: SecretBytes,
}

impl KeyMaterial {
    /// The key bytes, whatever the format.
    pub fn bytes(&self) -> &SecretBytes {
        match self {
            Self::Bytes(bytes) => bytes,
            Self::Transparent(t) => &t.key,
        }
    }
}

/// Get Attributes response payload.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007C")]
pub struct GetAttributesPayload {
    /// The object's identifier.
    #[serde(rename = "0x420094")]
    pub unique_identifier: UniqueIdentifier,
    /// The attributes the object has among those asked for.
    #[serde(rename = "0x420008")]
    pub attributes: Option<Vec<Attribute>>,
}

/// Discover Versions response payload.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x42007C")]
pub struct DiscoverVersionsPayload {
    /// Versions, server's preference first.
    #[serde(rename = "0x420069")]
    pub versions: Option<Vec<WireVersion>>,
}

impl DiscoverVersionsPayload {
    /// The versions as plain values.
    pub fn versions(&self) -> Vec<ProtocolVersion> {
        self.versions
            .iter()
            .flatten()
            .map(|v| ProtocolVersion::new(v.major, v.minor))
            .collect()
    }
}

/// Decodes a response message; any decoding failure is a malformed response.
///
/// The bytes go through [`framing::check`] first: `kmip-ttlv` and `kmip-protocol` crash on
/// some hostile input (lying lengths, unknown attributes with structured values), so they
/// only ever see a well-framed message that holds none of the attributes we do not read.
pub fn decode(bytes: &[u8]) -> Result<ResponseMessage, KeyringError> {
    let framed = framing::check(bytes)?;
    kmip_ttlv::from_slice::<ResponseMessage>(&framed)
        .map_err(|e| KeyringError::MalformedResponse(e.to_string()))
}

/// Checks a batch item's status and returns its payload, or the server's failure.
pub fn payload_of(
    item: BatchItem,
    expected: Operation,
) -> Result<Option<ResponsePayload>, KeyringError> {
    if let Some(op) = item.operation {
        if op != expected {
            return Err(KeyringError::MalformedResponse(format!(
                "expected a {expected:?} result, the server answered {op:?}"
            )));
        }
    }
    match item.result_status {
        ResultStatus::Success => Ok(item.payload),
        _ => Err(KeyringError::ServerFailure(ServerFailure {
            operation: expected,
            reason: item.result_reason,
            message: item.result_message.unwrap_or_default(),
        })),
    }
}
