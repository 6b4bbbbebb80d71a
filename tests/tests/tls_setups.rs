//! Real TLS setups against a real PyKMIP: the ECDSA key types operators meet (P-256,
//! P-384, P-521 — HashiCorp Vault's KMIP default for its CA, server and clients) work end
//! to end; a server that shares no cipher suite with the keyring is refused with an error
//! that says so and what the keyring offers. (RSA certificates work against Cosmian KMS,
//! tests/tests/cosmian.rs; PyKMIP's TLS 1.2 suite list pairs RSA only with CBC suites,
//! which rustls does not implement.)

use anyhow::Result;
use component_keyring_kmip::{Keyring, MemoryLog};
use kmip_keyring_tests::pki::KeyKind;
use kmip_keyring_tests::pykmip::PyKmip;
use kmip_keyring_tests::runtime;

#[test]
fn every_key_type_works_end_to_end_p521_included() -> Result<()> {
    for kind in [KeyKind::P521, KeyKind::P384, KeyKind::P256] {
        let server = PyKmip::start_with_keys(kind)?;
        let keyring = Keyring::load(server.config(Some("tls"))?, runtime(), MemoryLog::shared())
            .map_err(|e| anyhow::anyhow!("{kind:?}: {e}"))?;
        keyring.store("k", "", "AES", &[3u8; 32])?;
        keyring.store("s", "alice@%", "SECRET", b"alice's")?;
        // A fresh keyring, a fresh TLS session, finds both.
        let again = Keyring::load(server.config(Some("tls"))?, runtime(), MemoryLog::shared())?;
        assert_eq!(
            *again.fetch("k", "").expect("stored").data,
            vec![3u8; 32],
            "{kind:?}"
        );
        assert_eq!(
            *again.fetch("s", "alice@%").expect("stored").data,
            b"alice's".to_vec()
        );
        // And PyKMIP's own client, over the same PKI, sees the key.
        let found = server.witness(&["locate", "SYMMETRIC_KEY"])?;
        assert_eq!(found.as_array().map(Vec::len), Some(1), "{kind:?}: {found}");
    }
    Ok(())
}

#[test]
fn a_server_without_a_common_cipher_suite_is_named_as_such() -> Result<()> {
    // CBC suites only, as PyKMIP is left with when its certificate is RSA: rustls
    // implements none of them.
    for server in [
        PyKmip::start_with_suites("ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384")?,
        PyKmip::start_with_keys(KeyKind::Rsa2048)?,
    ] {
        let error = Keyring::load(server.config(None)?, runtime(), MemoryLog::shared())
            .expect_err("no common cipher suite")
            .to_string();
        assert!(
            error.contains("ended the handshake")
                && error.contains("shares no TLS version, cipher suite")
                && error.contains("TLS13_AES_128_GCM_SHA256")
                && error.contains("ECDSA_NISTP521_SHA512"),
            "{error}"
        );
    }
    Ok(())
}
