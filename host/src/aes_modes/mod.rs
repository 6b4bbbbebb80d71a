//! `keyring_aes`: AES-256 in the modes MySQL's keyring offers, with the key derived as
//! SHA-256 of the stored key bytes, exactly as MySQL's keyring_common does.

mod cfb1;

use aes::cipher::{AsyncStreamCipher, BlockDecryptMut, BlockEncryptMut, KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroizing;

/// The only block size MySQL's keyring accepts (it is the key size in bits).
pub const BLOCK_SIZE: usize = 256;
const AES_BLOCK: usize = 16;

/// A cipher mode, named as MySQL names it (lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cbc`, PKCS#7 padding unless disabled.
    Cbc,
    /// `cfb1`: 1-bit cipher feedback.
    Cfb1,
    /// `cfb8`: 8-bit cipher feedback.
    Cfb8,
    /// `cfb128`: full-block cipher feedback.
    Cfb128,
    /// `ofb`: output feedback.
    Ofb,
}

/// Why an AES operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AesError {
    /// Unknown mode or block size.
    #[error("unsupported AES mode '{mode}' with block size {block_size} (use cbc, cfb1, cfb8, cfb128 or ofb with 256)")]
    Unsupported {
        /// The mode asked for.
        mode: String,
        /// The block size asked for.
        block_size: usize,
    },
    /// The key is not an AES key.
    #[error("the key is of type '{0}', AES needs a key of type AES")]
    NotAesKey(String),
    /// Wrong input length (CBC without padding needs whole blocks), bad padding, short output.
    #[error("{0}")]
    Length(String),
}

impl Mode {
    /// Parses MySQL's mode name with its block size.
    pub fn parse(mode: &str, block_size: usize) -> Result<Self, AesError> {
        let parsed = match mode {
            "cbc" => Some(Self::Cbc),
            "cfb1" => Some(Self::Cfb1),
            "cfb8" => Some(Self::Cfb8),
            "cfb128" => Some(Self::Cfb128),
            "ofb" => Some(Self::Ofb),
            _ => None,
        };
        match parsed {
            Some(m) if block_size == BLOCK_SIZE => Ok(m),
            _ => Err(AesError::Unsupported {
                mode: mode.to_owned(),
                block_size,
            }),
        }
    }

    /// Output size for `input_len` bytes, as MySQL computes it (CBC always leaves room for
    /// a full padding block); `None` when that size does not fit in a `usize`.
    pub fn output_size(self, input_len: usize) -> Option<usize> {
        match self {
            Self::Cbc => (input_len / AES_BLOCK)
                .checked_mul(AES_BLOCK)?
                .checked_add(AES_BLOCK),
            _ => Some(input_len),
        }
    }
}

/// The AES-256 key MySQL derives from a stored key: SHA-256 of its bytes.
pub fn derive_key(stored: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(Sha256::digest(stored).into())
}

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

fn iv16(iv: &[u8]) -> Result<&[u8; 16], AesError> {
    iv.get(..AES_BLOCK)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| AesError::Length(format!("the IV must be {AES_BLOCK} bytes")))
}

/// Encrypts `input`.
pub fn encrypt(
    mode: Mode,
    key: &[u8; 32],
    iv: &[u8],
    padding: bool,
    input: &[u8],
) -> Result<Vec<u8>, AesError> {
    let iv = iv16(iv)?;
    let mut out = input.to_vec();
    match mode {
        Mode::Cbc => {
            let enc = Aes256CbcEnc::new(key.into(), iv.into());
            if padding {
                return Ok(enc.encrypt_padded_vec_mut::<cbc::cipher::block_padding::Pkcs7>(input));
            }
            if input.len() % AES_BLOCK != 0 {
                return Err(AesError::Length(format!(
                    "cbc without padding needs a multiple of {AES_BLOCK} bytes, not {}",
                    input.len()
                )));
            }
            enc.encrypt_padded_mut::<cbc::cipher::block_padding::NoPadding>(&mut out, input.len())
                .map_err(|_| AesError::Length("cbc encryption failed".into()))?;
        }
        Mode::Cfb1 => cfb1::encrypt(key, iv, &mut out),
        Mode::Cfb8 => cfb8::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt(&mut out),
        Mode::Cfb128 => {
            cfb_mode::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt(&mut out)
        }
        Mode::Ofb => ofb::Ofb::<aes::Aes256>::new(key.into(), iv.into()).apply_keystream(&mut out),
    }
    Ok(out)
}

/// Decrypts `input`.
pub fn decrypt(
    mode: Mode,
    key: &[u8; 32],
    iv: &[u8],
    padding: bool,
    input: &[u8],
) -> Result<Vec<u8>, AesError> {
    let iv = iv16(iv)?;
    let mut out = input.to_vec();
    match mode {
        Mode::Cbc => {
            if input.len() % AES_BLOCK != 0 {
                return Err(AesError::Length(format!(
                    "cbc input must be a multiple of {AES_BLOCK} bytes, not {}",
                    input.len()
                )));
            }
            let dec = Aes256CbcDec::new(key.into(), iv.into());
            if padding {
                return dec
                    .decrypt_padded_vec_mut::<cbc::cipher::block_padding::Pkcs7>(input)
                    .map_err(|_| {
                        AesError::Length("bad padding: wrong key or corrupted data".into())
                    });
            }
            dec.decrypt_padded_mut::<cbc::cipher::block_padding::NoPadding>(&mut out)
                .map_err(|_| AesError::Length("cbc decryption failed".into()))?;
        }
        Mode::Cfb1 => cfb1::decrypt(key, iv, &mut out),
        Mode::Cfb8 => cfb8::Decryptor::<aes::Aes256>::new(key.into(), iv.into()).decrypt(&mut out),
        Mode::Cfb128 => {
            cfb_mode::Decryptor::<aes::Aes256>::new(key.into(), iv.into()).decrypt(&mut out)
        }
        Mode::Ofb => ofb::Ofb::<aes::Aes256>::new(key.into(), iv.into()).apply_keystream(&mut out),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_lower_case_with_block_size_256_only() {
        assert_eq!(Mode::parse("cbc", 256).unwrap(), Mode::Cbc);
        assert_eq!(Mode::parse("cfb1", 256).unwrap(), Mode::Cfb1);
        assert!(Mode::parse("CBC", 256).is_err());
        assert!(Mode::parse("cbc", 128).is_err());
        assert!(Mode::parse("ecb", 256).is_err());
        assert_eq!(Mode::Cbc.output_size(0), Some(16));
        assert_eq!(Mode::Cbc.output_size(16), Some(32));
        assert_eq!(Mode::Cbc.output_size(17), Some(32));
        assert_eq!(Mode::Ofb.output_size(17), Some(17));
        // The padding block of a length near usize::MAX does not fit: refused, not wrapped.
        assert_eq!(Mode::Cbc.output_size(usize::MAX), None);
        assert_eq!(Mode::Cbc.output_size(usize::MAX - 15), None);
        assert_eq!(Mode::Ofb.output_size(usize::MAX), Some(usize::MAX));
    }

    #[test]
    fn every_mode_round_trips() {
        let key = derive_key(b"stored key bytes");
        let iv = [7u8; 16];
        let data: Vec<u8> = (0..45).collect();
        for mode in [Mode::Cbc, Mode::Cfb1, Mode::Cfb8, Mode::Cfb128, Mode::Ofb] {
            let sealed = encrypt(mode, &key, &iv, true, &data).unwrap();
            assert_ne!(sealed[..16], data[..16], "{mode:?}");
            assert_eq!(Some(sealed.len()), mode.output_size(data.len()), "{mode:?}");
            assert_eq!(
                decrypt(mode, &key, &iv, true, &sealed).unwrap(),
                data,
                "{mode:?}"
            );
        }
        assert!(encrypt(Mode::Cbc, &key, &iv, false, &data).is_err());
        let whole = &data[..32];
        let sealed = encrypt(Mode::Cbc, &key, &iv, false, whole).unwrap();
        assert_eq!(sealed.len(), 32);
        assert_eq!(
            decrypt(Mode::Cbc, &key, &iv, false, &sealed).unwrap(),
            whole
        );
    }
}
