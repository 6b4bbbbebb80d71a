//! The server-certificate check with Percona's opt-outs: `tls_hostname_verification` off
//! accepts a certificate for another name, `tls_peer_verification` off accepts any
//! certificate. The handshake signature is always checked. It also keeps the certificate
//! each server presented last, so that a refused handshake can say what was refused
//! (rustls keeps no peer certificate when verification fails).

use kmip_keyring_config::TlsVerification;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Verifies as rustls does, minus the checks the configuration turned off.
#[derive(Debug)]
pub(super) struct RelaxedVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    verification: TlsVerification,
    /// The end-entity certificate each server name presented last.
    presented: Mutex<HashMap<String, CertificateDer<'static>>>,
}

impl RelaxedVerifier {
    pub(super) fn new(
        roots: RootCertStore,
        provider: Arc<CryptoProvider>,
        verification: TlsVerification,
    ) -> Result<Self, String> {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            webpki,
            provider,
            verification,
            presented: Mutex::default(),
        })
    }

    /// Forgets what `server_name` presented, before a new handshake with it, so that a
    /// handshake refused before any certificate arrived does not report an old one.
    pub(super) fn forget(&self, server_name: &str) {
        if let Ok(mut presented) = self.presented.lock() {
            presented.remove(server_name);
        }
    }

    /// The certificate `server_name` presented in its last handshake, if any.
    pub(super) fn presented(&self, server_name: &str) -> Option<CertificateDer<'static>> {
        self.presented.lock().ok()?.get(server_name).cloned()
    }
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Ok(mut presented) = self.presented.lock() {
            presented.insert(
                server_name.to_str().into_owned(),
                end_entity.clone().into_owned(),
            );
        }
        if !self.verification.peer {
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.verification.hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
