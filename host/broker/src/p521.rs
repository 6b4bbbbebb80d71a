//! ECDHE on secp521r1 (NIST P-521), which rustls' aws-lc-rs provider implements as a
//! signature curve but does not offer as a key exchange group.
//!
//! Why it is needed: in TLS 1.2 a server may only present an ECDSA certificate on a curve
//! the client lists in its supported groups (RFC 8422 section 5.1), and OpenSSL-based
//! servers (PyKMIP, many appliances) enforce it. HashiCorp Vault's KMIP engine makes CA,
//! server and client keys on P-521 by default, so without this group a TLS 1.2 server
//! with Vault-style certificates ends the handshake. The arithmetic is aws-lc's
//! (`ECDH_P521`); this file only adapts it to rustls' interface, as rustls' own groups do.

use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, ECDH_P521};
use aws_lc_rs::rand::SystemRandom;
use rustls::crypto::{ActiveKeyExchange, SharedSecret, SupportedKxGroup};
use rustls::{Error, NamedGroup, PeerMisbehaved};

/// The secp521r1 group, offered after rustls' default groups.
pub(super) static SECP521R1: &dyn SupportedKxGroup = &Secp521r1;

#[derive(Debug)]
struct Secp521r1;

impl SupportedKxGroup for Secp521r1 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let private = EphemeralPrivateKey::generate(&ECDH_P521, &SystemRandom::new())
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        let public = private
            .compute_public_key()
            .map_err(|_| Error::FailedToGetRandomBytes)?;
        Ok(Box::new(Exchange { private, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}

struct Exchange {
    private: EphemeralPrivateKey,
    public: agreement::PublicKey,
}

impl ActiveKeyExchange for Exchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // TLS allows only the uncompressed point encoding (aws-lc would take others).
        if peer.first() != Some(&0x04) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        agreement::agree_ephemeral(
            self.private,
            UnparsedPublicKey::new(&ECDH_P521, peer),
            PeerMisbehaved::InvalidKeyShare.into(),
            |secret| Ok(SharedSecret::from(secret)),
        )
    }

    fn pub_key(&self) -> &[u8] {
        self.public.as_ref()
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp521r1
    }
}
