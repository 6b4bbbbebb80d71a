//! What differs between KMIP servers as far as this keyring is concerned. A vendor variant
//! of the guest is the same code built with another profile (see the adapter's features).

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
}

/// PyKMIP and any server that behaves like the one Percona's component was written for.
pub const GENERIC: VendorProfile = VendorProfile {
    name: "generic KMIP (PyKMIP, Percona-compatible)",
    secret_data: true,
    unique_names: false,
};

/// HashiCorp Vault Enterprise's KMIP secrets engine: its supported profiles do not include
/// Secret Data, so SECRET keys are refused before anything is sent.
pub const VAULT: VendorProfile = VendorProfile {
    name: "HashiCorp Vault Enterprise KMIP",
    secret_data: false,
    unique_names: false,
};

/// Thales CipherTrust Manager: no difference from the generic profile is encoded yet.
pub const CIPHERTRUST: VendorProfile = VendorProfile {
    name: "Thales CipherTrust Manager",
    secret_data: true,
    unique_names: false,
};

/// Fortanix DSM: object names are unique within an account, so a Name is looked up with
/// Locate before Register.
pub const FORTANIX: VendorProfile = VendorProfile {
    name: "Fortanix DSM",
    secret_data: true,
    unique_names: true,
};
