//! How a key's MySQL owner (auth_id) is kept on the KMIP server.
//!
//! Percona's component never sends auth_id, so after a restart every key is owner-less.
//! We keep the Name exactly as Percona writes it (`data_id`) and record a non-empty owner in
//! the standard KMIP attribute Application Specific Information, with the namespace below
//! and the auth_id as the application data. Owner-less keys carry no such attribute, so
//! their objects are identical to Percona's; Percona reading our owned keys sees them as
//! owner-less, which is its own behaviour for every key.

/// The Application Namespace under which the owner is recorded.
pub const AUTH_ID_NAMESPACE: &str = "mysql-keyring-auth-id";
