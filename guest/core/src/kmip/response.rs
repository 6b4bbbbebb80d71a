//! KMIP response messages: decoding, batch-item matching and result checking.
//!
//! The payload of each batch item is chosen by its Operation (`kmip-ttlv`'s `if` matcher).
//! Managed objects include Secret Data, which kmip-protocol lacks; key material decodes into
//! [`SecretBytes`], wiped on drop.

use super::framing;
use super::secret_bytes::SecretBytes;
use super::version::ProtocolVersion;
use crate::error::{KeyringError, ServerFailure};
use kmip_protocol::types::common::{KeyFormatType, ObjectType, Operation, UniqueIdentifier};
use kmip_protocol::types::response::{Attribute, ProtocolVersion as WireVersion};
use serde_derive::Deserialize;
use std::fmt;

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

/// Result Reason (9.1.3.2.26), complete through KMIP 1.4 so that a server's failure is
/// reported with its reason instead of as an undecodable message.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename = "0x42007E")]
#[allow(missing_docs)]
pub enum ResultReason {
    #[serde(rename = "0x00000001")]
    ItemNotFound,
    #[serde(rename = "0x00000002")]
    ResponseTooLarge,
    #[serde(rename = "0x00000003")]
    AuthenticationNotSuccessful,
    #[serde(rename = "0x00000004")]
    InvalidMessage,
    #[serde(rename = "0x00000005")]
    OperationNotSupported,
    #[serde(rename = "0x00000006")]
    MissingData,
    #[serde(rename = "0x00000007")]
    InvalidField,
    #[serde(rename = "0x00000008")]
    FeatureNotSupported,
    #[serde(rename = "0x00000009")]
    OperationCanceledByRequester,
    #[serde(rename = "0x0000000A")]
    CryptographicFailure,
    #[serde(rename = "0x0000000B")]
    IllegalOperation,
    #[serde(rename = "0x0000000C")]
    PermissionDenied,
    #[serde(rename = "0x0000000D")]
    ObjectArchived,
    #[serde(rename = "0x0000000E")]
    IndexOutOfBounds,
    #[serde(rename = "0x0000000F")]
    ApplicationNamespaceNotSupported,
    #[serde(rename = "0x00000010")]
    KeyFormatTypeNotSupported,
    #[serde(rename = "0x00000011")]
    KeyCompressionTypeNotSupported,
    #[serde(rename = "0x00000012")]
    EncodingOptionError,
    #[serde(rename = "0x00000013")]
    KeyValueNotPresent,
    #[serde(rename = "0x00000014")]
    AttestationRequired,
    #[serde(rename = "0x00000015")]
    AttestationFailed,
    #[serde(rename = "0x00000016")]
    Sensitive,
    #[serde(rename = "0x00000017")]
    NotExtractable,
    #[serde(rename = "0x00000018")]
    ObjectAlreadyExists,
    #[serde(rename = "0x00000100")]
    GeneralFailure,
}

impl fmt::Display for ResultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
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
    /// Why it failed.
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
    /// Secret Data Type (Password, Seed, ...): any value is accepted.
    #[serde(rename = "0x420086")]
    pub secret_data_type: SecretDataTypeValue,
    /// Its key block.
    #[serde(rename = "0x420040")]
    pub key_block: KeyBlock,
}

/// Secret Data Type as received.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename = "0x420086")]
pub enum SecretDataTypeValue {
    /// Password.
    #[serde(rename = "0x00000001")]
    Password,
    /// Seed.
    #[serde(rename = "0x00000002")]
    Seed,
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

/// Key Value: we accept raw (byte string) key material only.
#[derive(Debug, Deserialize)]
#[serde(rename = "0x420045")]
pub struct KeyValue {
    /// Key Material.
    #[serde(rename = "0x420043")]
    pub key_material: SecretBytes,
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
        status => Err(KeyringError::ServerFailure(ServerFailure {
            operation: format!("{expected:?}"),
            reason: item
                .result_reason
                .map_or_else(|| format!("{status:?}"), |r| r.to_string()),
            message: item.result_message.unwrap_or_default(),
        })),
    }
}
