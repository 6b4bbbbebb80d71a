//! A throw-away PKI generated at test time: a CA, a server certificate for 127.0.0.1 and
//! localhost, a client certificate with the clientAuth usage and a single CN, and a second,
//! unrelated CA. Keys are ECDSA P-256 unless another [`KeyKind`] is asked for (HashiCorp
//! Vault's KMIP engine makes ECDSA P-521 ones by default).

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, RsaKeySize, SanType, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
    PKCS_ECDSA_P521_SHA512, PKCS_RSA_SHA256,
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

/// The key type of every key of a PKI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA P-256 with SHA-256.
    P256,
    /// ECDSA P-384 with SHA-384.
    P384,
    /// ECDSA P-521 with SHA-512: HashiCorp Vault's KMIP default.
    P521,
    /// RSA 2048 with SHA-256.
    Rsa2048,
}

impl KeyKind {
    fn generate(self) -> Result<KeyPair> {
        Ok(match self {
            Self::P256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
            Self::P384 => KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384)?,
            Self::P521 => KeyPair::generate_for(&PKCS_ECDSA_P521_SHA512)?,
            Self::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)?,
        })
    }

    /// Whether the server certificate's key is RSA (TLS 1.2 servers then need RSA suites).
    pub fn is_rsa(self) -> bool {
        self == Self::Rsa2048
    }
}

fn ca(name: &str, kind: KeyKind) -> Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(CertifiedIssuer::self_signed(params, kind.generate()?)?)
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

    /// As [`Self::generate`], with every key of `kind`.
    pub fn generate_with(dir: &Path, kind: KeyKind) -> Result<Self> {
        Self::generate_full(dir, &["localhost"], true, kind)
    }

    /// As [`Self::generate`], with a server certificate that names only `dns_names` and,
    /// if `loopback_ip`, 127.0.0.1 (hostname-verification tests leave the address out).
    pub fn generate_for_server(dir: &Path, dns_names: &[&str], loopback_ip: bool) -> Result<Self> {
        Self::generate_full(dir, dns_names, loopback_ip, KeyKind::P256)
    }

    fn generate_full(
        dir: &Path,
        dns_names: &[&str],
        loopback_ip: bool,
        kind: KeyKind,
    ) -> Result<Self> {
        let issuer = ca("component_keyring_kmip test CA", kind)?;

        let server_key = kind.generate()?;
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

        let client_key = kind.generate()?;
        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client
            .distinguished_name
            .push(DnType::CommonName, CLIENT_CN);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let client_cert = client.signed_by(&client_key, &issuer)?;

        let other = ca("unrelated CA", kind)?;

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

/// Who a test TLS server lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Any client (a misbehaving server does not care who calls).
    None,
    /// Clients with a certificate from this PKI's CA, as a real KMIP server requires.
    Required,
}

impl Pki {
    /// A rustls server configuration with this PKI's server certificate: the one setup of
    /// the harness's TLS servers (the fast peer, the hostile server).
    pub fn server_config(
        &self,
        clients: ClientAuth,
    ) -> Result<std::sync::Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        use std::sync::Arc;
        let certs =
            CertificateDer::pem_file_iter(&self.server_cert)?.collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_file(&self.server_key)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match clients {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Required => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in CertificateDer::pem_file_iter(&self.ca)? {
                    roots.add(ca?)?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.into(),
                    provider,
                )
                .build()?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        Ok(Arc::new(builder.with_single_cert(certs, key)?))
    }
}

/// A self-signed certificate for `localhost` valid only from 1 January `from` to
/// 1 January `until`, as PEM: the expired and not-yet-valid certificates of the tests.
pub fn certificate_valid(from: i32, until: i32) -> Result<String> {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    Ok(params.self_signed(&key)?.pem())
}
