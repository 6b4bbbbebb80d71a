//! What differs between KMIP servers as far as this keyring is concerned. A vendor variant
//! of the guest is the same code built with another profile (see the adapter's features).
//! What the generic profile already copes with on every server (pages capped or not
//! paged, 2.x Result Reasons, Destroyed objects between Locate and Get, servers that
//! activate at Register) is not a profile matter; README "KMIP servers" lists both.

use crate::kmip::request::{USAGE_ENCRYPT_DECRYPT, USAGE_ENCRYPT_DECRYPT_EXPORT_KEY};

/// A KMIP server family's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorProfile {
    /// The server family, for logs.
    pub name: &'static str,
    /// Whether the server stores Secret Data objects (MySQL's SECRET keys).
    pub secret_data: bool,
    /// Whether the server refuses a Register whose Name already exists, so that the
    /// keyring looks the Name up first and reports the conflict itself.
    pub unique_names: bool,
    /// The Cryptographic Usage Mask symmetric keys are registered with.
    pub symmetric_usage_mask: i32,
    /// Said at every load that sets an Object Group, when the server may not honour it.
    pub object_group_caveat: Option<&'static str>,
}

/// PyKMIP and any server that behaves like the one Percona's component was written for.
pub const GENERIC: VendorProfile = VendorProfile {
    name: "generic KMIP (PyKMIP, Cosmian KMS, Percona-compatible)",
    secret_data: true,
    unique_names: false,
    symmetric_usage_mask: USAGE_ENCRYPT_DECRYPT,
    object_group_caveat: None,
};

/// HashiCorp Vault Enterprise's KMIP secrets engine: its supported profiles do not include
/// Secret Data, so SECRET keys are refused before anything is sent; Locate filters on
/// Object Group only from Vault 1.12 (documentation), so a scope per keyring is the way
/// to keep keyrings apart on older releases.
pub const VAULT: VendorProfile = VendorProfile {
    name: "HashiCorp Vault Enterprise KMIP",
    secret_data: false,
    unique_names: false,
    symmetric_usage_mask: USAGE_ENCRYPT_DECRYPT,
    object_group_caveat: Some(
        "Vault's KMIP engine filters Locate by Object Group only from Vault 1.12; on an \
         older Vault leave object_group empty and give each keyring its own KMIP scope",
    ),
};

/// Thales CipherTrust Manager: no difference from the generic profile is encoded yet.
pub const CIPHERTRUST: VendorProfile = VendorProfile {
    name: "Thales CipherTrust Manager",
    secret_data: true,
    unique_names: false,
    symmetric_usage_mask: USAGE_ENCRYPT_DECRYPT,
    object_group_caveat: None,
};

/// Fortanix DSM: object names are unique within an account, so a Name is looked up with
/// Locate before Register (a destroyed object keeping the name does not count); and a key
/// created without the Export permission can never be read back, so symmetric keys are
/// registered with Export in their usage mask (documentation).
pub const FORTANIX: VendorProfile = VendorProfile {
    name: "Fortanix DSM",
    secret_data: true,
    unique_names: true,
    symmetric_usage_mask: USAGE_ENCRYPT_DECRYPT_EXPORT_KEY,
    object_group_caveat: None,
};
