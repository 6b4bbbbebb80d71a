//! A throw-away PKI generated at test time: a CA, an ECDSA P-256 server certificate for
//! 127.0.0.1 and localhost (PyKMIP shares no cipher suite with rustls over RSA), a client
//! certificate with the clientAuth usage and a single CN, and a second, unrelated CA.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Paths of the generated PEM files.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA that signed both certificates.
    pub ca: PathBuf,
    /// Server certificate and key.
    pub server_cert: PathBuf,
    /// Server private key.
    pub server_key: PathBuf,
    /// Client certificate (Percona's `client_ca`).
    pub client_cert: PathBuf,
    /// Client private key.
    pub client_key: PathBuf,
    /// A CA that signed nothing we use (for wrong-CA tests).
    pub other_ca: PathBuf,
}

/// The client certificate's CN, which PyKMIP makes the owner of our objects.
pub const CLIENT_CN: &str = "mysql_keyring_test_client";

fn ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(CertifiedIssuer::self_signed(
        params,
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
    )?)
}

fn write(dir: &Path, name: &str, pem: &str) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
    if name.contains("key") {
        // As an operator should keep them: private keys readable by their owner only.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(path)
}

impl Pki {
    /// Generates every file into `dir`.
    pub fn generate(dir: &Path) -> Result<Self> {
        Self::generate_for_server(dir, &["localhost"], true)
    }

    /// As [`Self::generate`], with a server certificate that names only `dns_names` and,
    /// if `loopback_ip`, 127.0.0.1 (hostname-verification tests leave the address out).
    pub fn generate_for_server(dir: &Path, dns_names: &[&str], loopback_ip: bool) -> Result<Self> {
        let issuer = ca("component_keyring_kmip test CA")?;

        let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut server = CertificateParams::new(
            dns_names
                .iter()
                .map(|n| (*n).to_owned())
                .collect::<Vec<_>>(),
        )?;
        if loopback_ip {
            server
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        server
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client
            .distinguished_name
            .push(DnType::CommonName, CLIENT_CN);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let client_cert = client.signed_by(&client_key, &issuer)?;

        let other = ca("unrelated CA")?;

        Ok(Self {
            ca: write(dir, "root_certificate.pem", &issuer.pem())?,
            server_cert: write(dir, "server_certificate.pem", &server_cert.pem())?,
            server_key: write(dir, "server_key.pem", &server_key.serialize_pem())?,
            client_cert: write(dir, "client_certificate.pem", &client_cert.pem())?,
            client_key: write(dir, "client_key.pem", &client_key.serialize_pem())?,
            other_ca: write(dir, "other_root_certificate.pem", &other.pem())?,
        })
    }
}
