//! Result Reason (KMIP 1.4 section 9.1.3.2.29, KMIP 2.0 section 11.29) as an open code.
//!
//! Servers answer 1.x clients with codes from later versions (Cosmian KMS sends 2.x codes
//! such as Object Destroyed and Wrong Key Lifecycle State), so a reason we do not know
//! must decode, be reported with its number, and never fail the whole message.

use serde::de::{Deserialize, Deserializer, EnumAccess, Error as _, VariantAccess, Visitor};
use std::fmt;

/// A Result Reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResultReason(pub u32);

/// Names of the codes KMIP 1.0-2.1 define, as reported in messages.
const NAMES: &[(u32, &str)] = &[
    (0x01, "ItemNotFound"),
    (0x02, "ResponseTooLarge"),
    (0x03, "AuthenticationNotSuccessful"),
    (0x04, "InvalidMessage"),
    (0x05, "OperationNotSupported"),
    (0x06, "MissingData"),
    (0x07, "InvalidField"),
    (0x08, "FeatureNotSupported"),
    (0x09, "OperationCanceledByRequester"),
    (0x0A, "CryptographicFailure"),
    (0x0B, "IllegalOperation"),
    (0x0C, "PermissionDenied"),
    (0x0D, "ObjectArchived"),
    (0x0E, "IndexOutOfBounds"),
    (0x0F, "ApplicationNamespaceNotSupported"),
    (0x10, "KeyFormatTypeNotSupported"),
    (0x11, "KeyCompressionTypeNotSupported"),
    (0x12, "EncodingOptionError"),
    (0x13, "KeyValueNotPresent"),
    (0x14, "AttestationRequired"),
    (0x15, "AttestationFailed"),
    (0x16, "Sensitive"),
    (0x17, "NotExtractable"),
    (0x18, "ObjectAlreadyExists"),
    (0x19, "InvalidTicket"),
    (0x1A, "UsageLimitExceeded"),
    (0x1B, "NumericRange"),
    (0x1C, "InvalidDataType"),
    (0x1D, "ReadOnlyAttribute"),
    (0x1E, "MultiValuedAttribute"),
    (0x1F, "UnsupportedAttribute"),
    (0x20, "AttributeInstanceNotFound"),
    (0x21, "AttributeNotFound"),
    (0x22, "AttributeReadOnly"),
    (0x23, "AttributeSingleValued"),
    (0x24, "BadCryptographicParameters"),
    (0x25, "BadPassword"),
    (0x26, "CodecError"),
    (0x28, "IllegalObjectType"),
    (0x29, "IncompatibleCryptographicUsageMask"),
    (0x2A, "InternalServerError"),
    (0x2B, "InvalidAsynchronousCorrelationValue"),
    (0x2C, "InvalidAttribute"),
    (0x2D, "InvalidAttributeValue"),
    (0x2E, "InvalidCorrelationValue"),
    (0x2F, "InvalidCSR"),
    (0x30, "InvalidObjectType"),
    (0x32, "KeyWrapTypeNotSupported"),
    (0x34, "MissingInitializationVector"),
    (0x35, "NonUniqueNameAttribute"),
    (0x36, "ObjectDestroyed"),
    (0x37, "ObjectNotFound"),
    (0x39, "NotAuthorised"),
    (0x3A, "ServerLimitExceeded"),
    (0x3B, "UnknownEnumeration"),
    (0x3C, "UnknownMessageExtension"),
    (0x3D, "UnknownTag"),
    (0x3E, "UnsupportedCryptographicParameters"),
    (0x3F, "UnsupportedProtocolVersion"),
    (0x40, "WrappingObjectArchived"),
    (0x41, "WrappingObjectDestroyed"),
    (0x42, "WrappingObjectNotFound"),
    (0x43, "WrongKeyLifecycleState"),
    (0x44, "ProtectionStorageUnavailable"),
    (0x45, "Pkcs11CodecError"),
    (0x46, "Pkcs11InvalidFunction"),
    (0x47, "Pkcs11InvalidInterface"),
    (0x48, "PrivateProtectionStorageUnavailable"),
    (0x49, "PublicProtectionStorageUnavailable"),
    (0x100, "GeneralFailure"),
];

#[allow(missing_docs)]
impl ResultReason {
    pub const ITEM_NOT_FOUND: Self = Self(0x01);
    pub const INVALID_MESSAGE: Self = Self(0x04);
    pub const OPERATION_NOT_SUPPORTED: Self = Self(0x05);
    pub const INVALID_FIELD: Self = Self(0x07);
    pub const FEATURE_NOT_SUPPORTED: Self = Self(0x08);
    pub const ILLEGAL_OPERATION: Self = Self(0x0B);
    pub const PERMISSION_DENIED: Self = Self(0x0C);
    pub const KEY_FORMAT_TYPE_NOT_SUPPORTED: Self = Self(0x10);
    pub const ILLEGAL_OBJECT_TYPE: Self = Self(0x28);
    pub const INVALID_OBJECT_TYPE: Self = Self(0x30);
    pub const OBJECT_DESTROYED: Self = Self(0x36);
    pub const OBJECT_NOT_FOUND: Self = Self(0x37);
    pub const UNKNOWN_ENUMERATION: Self = Self(0x3B);
    pub const WRONG_KEY_LIFECYCLE_STATE: Self = Self(0x43);
    pub const GENERAL_FAILURE: Self = Self(0x100);
}

impl ResultReason {
    /// The name KMIP gives the code, if it is one we know.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(code, _)| *code == self.0)
            .map(|(_, name)| *name)
    }

    /// Whether the object is gone: deleted (Item Not Found, KMIP 2's Object Not Found) or
    /// destroyed with its metadata kept (Object Destroyed).
    pub fn means_gone(self) -> bool {
        matches!(
            self,
            Self::ITEM_NOT_FOUND | Self::OBJECT_NOT_FOUND | Self::OBJECT_DESTROYED
        )
    }
}

impl fmt::Display for ResultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown(0x{:08X})", self.0),
        }
    }
}

/// Decodes a TTLV Enumeration of any value. kmip-ttlv announces an Enumeration as the
/// variant named by its value in hex ("0x00000036"); this accepts every value instead of a
/// fixed list of variants.
pub(crate) fn open_enumeration<'de, D: Deserializer<'de>>(
    deserializer: D,
    tag: &'static str,
) -> Result<u32, D::Error> {
    /// The variant name kmip-ttlv announces, read as an identifier (as serde's derived
    /// enums read theirs), not as a string item of the message.
    struct Hex(String);
    impl<'de> Deserialize<'de> for Hex {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Name;
            impl Visitor<'_> for Name {
                type Value = Hex;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an enumeration value in hex")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Hex, E> {
                    Ok(Hex(v.to_owned()))
                }
            }
            deserializer.deserialize_identifier(Name)
        }
    }
    struct Code;
    impl<'de> Visitor<'de> for Code {
        type Value = u32;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a KMIP enumeration")
        }
        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            let (Hex(hex), variant): (Hex, A::Variant) = data.variant()?;
            variant.unit_variant()?;
            u32::from_str_radix(hex.trim_start_matches("0x"), 16)
                .map_err(|_| A::Error::custom(format!("enumeration value {hex}")))
        }
    }
    deserializer.deserialize_enum(tag, &[], Code)
}

impl<'de> Deserialize<'de> for ResultReason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        open_enumeration(deserializer, "0x42007E").map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_names_and_unknown_ones_their_number() {
        assert_eq!(ResultReason(0x01).to_string(), "ItemNotFound");
        assert_eq!(ResultReason(0x43).to_string(), "WrongKeyLifecycleState");
        assert_eq!(ResultReason(0x100).to_string(), "GeneralFailure");
        assert_eq!(ResultReason(0x8000_0001).to_string(), "Unknown(0x80000001)");
        assert!(ResultReason::OBJECT_DESTROYED.means_gone());
        assert!(!ResultReason::PERMISSION_DENIED.means_gone());
    }
}
