//! What a certificate says, in the terms an operator checks: subject, names, issuer,
//! validity, key type and whether it may authenticate a TLS client. Shared by the
//! handshake-failure message and by `keyring-kmip check`.

use rustls::pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// One certificate, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses of the Subject Alternative Name extension.
    pub names: Vec<String>,
    /// Not valid before (RFC 2822 text).
    pub not_before: String,
    /// Not valid after (RFC 2822 text).
    pub not_after: String,
    /// Whole days from now until `not_after`; negative once expired.
    pub days_left: i64,
    /// Whether `not_before` is still in the future.
    pub not_yet_valid: bool,
    /// "ECDSA P-256", "RSA 2048", ...
    pub key_type: String,
    /// What the Extended Key Usage extension says of TLS client authentication: `None`
    /// without the extension (any use), else whether clientAuth (or anyExtendedKeyUsage)
    /// is listed.
    pub client_auth: Option<bool>,
    /// Whether the certificate is a CA (Basic Constraints).
    pub is_ca: bool,
}

impl CertificateInfo {
    /// Describes a DER certificate; `None` if it is not readable X.509.
    pub fn from_der(der: &CertificateDer<'_>) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        Some(Self::from_parsed(&cert))
    }

    fn from_parsed(cert: &X509Certificate<'_>) -> Self {
        let validity = cert.validity();
        let now = x509_parser::time::ASN1Time::now();
        let days_left = (validity.not_after.timestamp() - now.timestamp()).div_euclid(86_400);
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(n) => names.push((*n).to_owned()),
                    GeneralName::IPAddress(ip) => names.push(ip_text(ip)),
                    _ => {}
                }
            }
        }
        let client_auth = cert
            .extended_key_usage()
            .ok()
            .flatten()
            .map(|eku| eku.value.client_auth || eku.value.any);
        Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            names,
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
            days_left,
            not_yet_valid: now < validity.not_before,
            key_type: crate::handshake_failure::key_type(cert),
            client_auth,
            is_ca: cert.is_ca(),
        }
    }

    /// One line: subject, names, issuer, validity and key type.
    pub fn summary(&self) -> String {
        let names = if self.names.is_empty() {
            "no subject alternative names".to_owned()
        } else {
            format!("names {}", self.names.join(", "))
        };
        format!(
            "\"{}\" ({names}; issued by \"{}\"; valid {} to {}; {} key)",
            self.subject, self.issuer, self.not_before, self.not_after, self.key_type
        )
    }
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).expect("4 bytes")).to_string(),
        16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).expect("16 bytes")).to_string(),
        _ => format!("IP {bytes:02x?}"),
    }
}
