//! What to tell an operator when a TLS handshake fails: which side refused, for lack of
//! what, what the server presented, and what this keyring offers — so that a CA made with
//! another key type (HashiCorp Vault's KMIP engine defaults to ECDSA P-521) or a server
//! restricted to cipher suites rustls does not implement is recognised as such.

use rustls::pki_types::CertificateDer;
use rustls::{AlertDescription, ClientConnection, Error};

/// Why the handshake failed, in one clause that follows the server's name.
pub(super) fn describe(
    error: &Error,
    conn: &ClientConnection,
    server_ca: &str,
    recorded: Option<CertificateDer<'static>>,
) -> String {
    let presented = presented_certificate(conn, recorded)
        .map(|c| format!("; the server presented {c}"))
        .unwrap_or_default();
    match error {
        Error::InvalidCertificate(_) => format!(
            "{error} (the server's certificate was checked against server_ca {server_ca}){presented}"
        ),
        Error::AlertReceived(
            alert @ (AlertDescription::HandshakeFailure
            | AlertDescription::InsufficientSecurity
            | AlertDescription::ProtocolVersion
            | AlertDescription::IllegalParameter),
        ) => format!(
            "the server ended the handshake ({alert:?}): it shares no TLS version, cipher suite, \
             key exchange group or signature scheme with this keyring, which offers {}{presented}",
            offer()
        ),
        Error::AlertReceived(alert) => format!(
            "the server refused us ({alert:?}): is client_ca's certificate trusted by it, and \
             does its key type suit the server?{presented}"
        ),
        Error::PeerIncompatible(why) => format!(
            "the server and this keyring have no TLS parameters in common ({why:?}); this \
             keyring offers {}{presented}",
            offer()
        ),
        other => format!("{other}{presented}"),
    }
}

/// What this keyring's TLS client offers, as names an operator can compare with a
/// server's configuration.
fn offer() -> String {
    let provider = super::tls::provider();
    let suites: Vec<String> = provider
        .cipher_suites
        .iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    let groups: Vec<String> = provider
        .kx_groups
        .iter()
        .map(|g| format!("{:?}", g.name()))
        .collect();
    let schemes: Vec<String> = provider
        .signature_verification_algorithms
        .supported_schemes()
        .iter()
        .map(|s| format!("{s:?}"))
        .collect();
    format!(
        "TLS 1.3 and 1.2; cipher suites {}; groups {}; server keys verified with {}",
        suites.join(", "),
        groups.join(", "),
        schemes.join(", ")
    )
}

/// The server's end-entity certificate, if it was received: subject, names, issuer,
/// validity and key type.
fn presented_certificate(
    conn: &ClientConnection,
    recorded: Option<CertificateDer<'static>>,
) -> Option<String> {
    let cert = match conn.peer_certificates().and_then(|c| c.first()) {
        Some(cert) => cert.clone().into_owned(),
        None => recorded?,
    };
    let info = crate::CertificateInfo::from_der(&cert)?;
    Some(format!("a certificate for {}", info.summary()))
}

/// "ECDSA P-521", "RSA 2048", ... from a certificate's public key.
pub(crate) fn key_type(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".to_owned(),
                Some("1.3.132.0.34") => "ECDSA P-384".to_owned(),
                Some("1.3.132.0.35") => "ECDSA P-521".to_owned(),
                Some("1.3.36.3.3.2.8.1.1.7") => "ECDSA brainpoolP256r1".to_owned(),
                Some(other) => format!("ECDSA (curve {other})"),
                None => "ECDSA".to_owned(),
            }
        }
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".to_owned(),
            "1.3.101.113" => "Ed448".to_owned(),
            other => format!("{other} (algorithm OID)"),
        },
    }
}
