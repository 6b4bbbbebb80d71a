//! The rustls client configuration: client certificate and key, server CA, TLS 1.2 and
//! 1.3 only, peer and hostname verification on unless the configuration turns them off.

use super::verifier::RelaxedVerifier;
use kmip_keyring_config::Config;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Why the TLS client could not be set up from the configured PEM files.
#[derive(Debug, Error)]
pub enum TlsSetupError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{field} ({}): {reason}", file.display())]
    Pem {
        /// The configuration field that names the file.
        field: &'static str,
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// rustls rejected the combination (key does not match certificate, say); the
    /// message names both fields and files.
    #[error("{0}")]
    Rejected(String),
}

fn pem_error(field: &'static str, file: &Path, reason: impl ToString) -> TlsSetupError {
    TlsSetupError::Pem {
        field,
        file: file.to_owned(),
        reason: reason.to_string(),
    }
}

fn certificates(
    field: &'static str,
    file: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| pem_error(field, file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(field, file, e))?;
    if certs.is_empty() {
        return Err(pem_error(field, file, "no PEM certificate in the file"));
    }
    for cert in &certs {
        check_validity(field, file, cert)?;
    }
    Ok(certs)
}

/// Refuses a certificate that is expired or not yet valid, now rather than as a failed
/// handshake later: the operator learns which file to renew.
fn check_validity(
    field: &'static str,
    file: &Path,
    cert: &CertificateDer<'_>,
) -> Result<(), TlsSetupError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| {
        pem_error(
            field,
            file,
            format!("not a readable X.509 certificate: {e}"),
        )
    })?;
    let validity = parsed.validity();
    let now = x509_parser::time::ASN1Time::now();
    let subject = parsed.subject();
    if now > validity.not_after {
        return Err(pem_error(
            field,
            file,
            format!(
                "the certificate \"{subject}\" expired on {}",
                validity.not_after
            ),
        ));
    }
    if now < validity.not_before {
        return Err(pem_error(
            field,
            file,
            format!(
                "the certificate \"{subject}\" is not valid before {}",
                validity.not_before
            ),
        ));
    }
    Ok(())
}

/// The TLS primitives: aws-lc-rs (ECDSA P-256, P-384 and P-521, RSA, Ed25519 server keys;
/// ring has no P-521) with its default key exchange groups, and secp521r1 after them.
pub fn provider() -> rustls::crypto::CryptoProvider {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups.push(super::p521::SECP521R1);
    provider
}

/// A warning when the client private key file can be read by users other than its owner
/// (the key authenticates this server to the key manager).
pub fn key_file_warning(key_file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key_file).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "client_key ({}) can be read by other users (mode {:o}); restrict it with \
             chmod 600 and make it owned by the mysqld user",
            key_file.display(),
            mode & 0o777
        )
    })
}

/// Builds the client configuration from `client_ca` (the client certificate chain),
/// `client_key` and `server_ca`.
pub(crate) fn client_setup(
    config: &Config,
) -> Result<(Arc<rustls::ClientConfig>, Arc<RelaxedVerifier>), TlsSetupError> {
    let chain = certificates("client_ca", &config.client_cert)?;
    let key = PrivateKeyDer::from_pem_file(&config.client_key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => pem_error(
            "client_key",
            &config.client_key,
            "no PEM private key (PKCS#8, SEC1 or PKCS#1) in the file",
        ),
        other => pem_error("client_key", &config.client_key, other),
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in certificates("server_ca", &config.server_ca)? {
        roots
            .add(ca)
            .map_err(|e| pem_error("server_ca", &config.server_ca, e))?;
    }
    let provider = Arc::new(provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsSetupError::Rejected(e.to_string()))?;
    // rustls's own WebPKI verification, through a wrapper that applies the configured
    // opt-outs (none by default) and remembers what each server presented.
    let verifier = Arc::new(
        RelaxedVerifier::new(roots, provider, config.verification)
            .map_err(|e| pem_error("server_ca", &config.server_ca, e))?,
    );
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone());
    let tls = builder.with_client_auth_cert(chain, key).map_err(|e| {
        let reason = match e {
            rustls::Error::InconsistentKeys(_) => {
                "the private key does not belong to the certificate".to_owned()
            }
            other => other.to_string(),
        };
        TlsSetupError::Rejected(format!(
            "client_ca ({}) and client_key ({}): {reason}",
            config.client_cert.display(),
            config.client_key.display()
        ))
    })?;
    Ok((Arc::new(tls), verifier))
}

/// The rustls client configuration for `config`'s certificates and verification; reads
/// and checks the PEM files, naming the file and field of any problem.
pub fn client_config(config: &Config) -> Result<Arc<rustls::ClientConfig>, TlsSetupError> {
    client_setup(config).map(|(tls, _)| tls)
}
