//! AES-256 in 1-bit cipher feedback (OpenSSL's `aes-256-cfb1`), which no RustCrypto crate
//! offers: each bit is XORed with the top bit of the encrypted shift register, and the
//! ciphertext bit is shifted in.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes256;
use zeroize::Zeroize;

fn run(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8], decrypting: bool) {
    let cipher = Aes256::new(key.into());
    let mut register = *iv;
    for byte in data.iter_mut() {
        let mut out = 0u8;
        for bit in (0..8).rev() {
            let mut block = register.into();
            cipher.encrypt_block(&mut block);
            let keystream_bit = block[0] >> 7;
            let input_bit = (*byte >> bit) & 1;
            let output_bit = input_bit ^ keystream_bit;
            out |= output_bit << bit;
            let cipher_bit = if decrypting { input_bit } else { output_bit };
            shift_in(&mut register, cipher_bit);
        }
        *byte = out;
    }
    register.zeroize();
}

fn shift_in(register: &mut [u8; 16], bit: u8) {
    for i in 0..15 {
        register[i] = (register[i] << 1) | (register[i + 1] >> 7);
    }
    register[15] = (register[15] << 1) | bit;
}

/// Encrypts in place.
pub fn encrypt(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    run(key, iv, data, false);
}

/// Decrypts in place.
pub fn decrypt(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    run(key, iv, data, true);
}
