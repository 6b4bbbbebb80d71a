//! The facts both sides of the sandbox check, stated once: the MySQL key types a KMIP
//! keyring stores and their lengths (the guest refuses a request, the host refuses a
//! guest's answer, by the same rules), and the load's Locate page and batch sizes.

#![forbid(unsafe_code)]

/// The longest key Percona's component accepts (bytes); we keep the same limit.
pub const MAX_KEY_LENGTH: usize = 16384;

/// Default for `locate_page_size`: identifiers one Locate asks for at most. A server may
/// answer fewer (Cosmian KMS at most 1 000); the load follows what it gets.
pub const DEFAULT_LOCATE_PAGE_SIZE: u32 = 1_000;

/// Objects (a Get and a Get Attributes each) per batched request message of a load.
pub const FETCH_BATCH_SIZE: u32 = 100;

/// The most keys one load accepts from a guest, of both types together: what the host
/// holds against a guest that returns absurd numbers.
pub const MAX_KEYS: usize = 262_144;

/// Default for `max_objects`, Percona's: the most keys of one type (AES, SECRET) a load
/// accepts.
pub const DEFAULT_MAX_OBJECTS: u64 = 65_535;

/// The most request messages a load of `aes` AES and `secret` SECRET keys sends to a
/// server that answers Locate pages of `page` identifiers in full (the README's bound,
/// guest/core/src/keyring/load.rs): one Discover Versions; ⌈(N_max − 1) / (P − 1)⌉ + 1
/// Locate rounds, N_max being the more numerous type (each round asks for both types in
/// one message, pages overlap by one, and the round that brings nothing new ends it); one
/// fetch message per [`FETCH_BATCH_SIZE`] keys of either type.
pub fn load_message_bound(aes: usize, secret: usize, page: u32) -> u64 {
    let page = (page as usize).max(2);
    let n_max = aes.max(secret);
    let locate_rounds = n_max.saturating_sub(1).div_ceil(page - 1) + 1;
    let fetches = (aes + secret).div_ceil(FETCH_BATCH_SIZE as usize);
    (1 + locate_rounds + fetches) as u64
}

/// The key types this keyring stores, as MySQL names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `AES`: a KMIP Symmetric Key, 16, 24 or 32 bytes.
    Aes,
    /// `SECRET`: KMIP Secret Data of type Password, any length up to the maximum.
    Secret,
}

/// A key type or length no KMIP keyring accepts, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey(pub String);

impl std::fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidKey {}

impl KeyType {
    /// Parses MySQL's label; the comparison ignores case as MySQL's keyring does.
    pub fn parse(label: &str) -> Result<Self, InvalidKey> {
        if label.eq_ignore_ascii_case("AES") {
            Ok(Self::Aes)
        } else if label.eq_ignore_ascii_case("SECRET") {
            Ok(Self::Secret)
        } else {
            Err(InvalidKey(format!(
                "key type '{label}' is not supported by the KMIP keyring (use AES or SECRET)"
            )))
        }
    }

    /// The canonical label reported back to MySQL.
    pub fn label(self) -> &'static str {
        match self {
            Self::Aes => "AES",
            Self::Secret => "SECRET",
        }
    }

    /// Checks that `len` bytes of key material are acceptable for this type.
    pub fn check_length(self, len: usize) -> Result<(), InvalidKey> {
        let ok = match self {
            Self::Aes => matches!(len, 16 | 24 | 32),
            Self::Secret => (1..=MAX_KEY_LENGTH).contains(&len),
        };
        if ok {
            Ok(())
        } else {
            Err(InvalidKey(match self {
                Self::Aes => format!("an AES key must be 16, 24 or 32 bytes, not {len}"),
                Self::Secret => {
                    format!("a SECRET must be 1 to {MAX_KEY_LENGTH} bytes, not {len}")
                }
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_case_insensitively() {
        assert_eq!(KeyType::parse("aes").unwrap(), KeyType::Aes);
        assert_eq!(KeyType::parse("Secret").unwrap(), KeyType::Secret);
        assert!(KeyType::parse("RSA").is_err());
        assert!(KeyType::parse("").is_err());
    }

    #[test]
    fn aes_lengths_are_128_192_256_bits() {
        for ok in [16, 24, 32] {
            KeyType::Aes.check_length(ok).unwrap();
        }
        for bad in [0, 1, 15, 17, 31, 33, 64] {
            assert!(KeyType::Aes.check_length(bad).is_err(), "{bad}");
        }
        KeyType::Secret.check_length(1).unwrap();
        KeyType::Secret.check_length(MAX_KEY_LENGTH).unwrap();
        assert!(KeyType::Secret.check_length(0).is_err());
        assert!(KeyType::Secret.check_length(MAX_KEY_LENGTH + 1).is_err());
    }
}
