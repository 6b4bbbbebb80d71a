//! KMIP messages: our own serde types on top of `kmip-ttlv`, reusing `kmip-protocol`'s
//! enumerations and attributes where they fit. Own types fill the crate's gaps: Secret Data,
//! multi-item batches, KMIP 1.3/1.4 headers, Locate paging, zeroized key material.

mod framing;
pub mod request;
pub mod response;
pub mod result_reason;
pub mod secret_bytes;
pub mod version;

pub use result_reason::ResultReason;
pub use secret_bytes::SecretBytes;
pub use version::ProtocolVersion;

/// The largest response the guest will decode, in bytes (the host caps messages too).
pub const MAX_RESPONSE_BYTES: u32 = 16 * 1024 * 1024;
