//! The search for key material in log lines, shared by every test that captures logs:
//! each key in hex (either case, and every 12-byte slice), base64 (both alphabets, padded
//! or not), Rust's Debug forms and raw text.

/// Bytes of each contiguous slice searched on its own in hex: a log line that prints part
/// of a key (a "prefix for debugging") leaks too. 12 bytes = 24 hex digits, far too long to
/// occur in a log line by chance.
const WINDOW: usize = 12;

/// RFC 4648 base64 alphabets.
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 4648 base64 over `alphabet`, with or without the `=` padding.
pub fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        // A chunk of k bytes yields k + 1 significant characters.
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

/// A key of the session under its name, for the report of a hit.
pub struct Key {
    /// How a hit reports the key.
    pub name: String,
    /// The key material.
    pub bytes: Vec<u8>,
}

impl Key {
    /// The key `bytes`, reported as `name` when found.
    pub fn new(name: &str, bytes: &[u8]) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.to_vec(),
        }
    }
}

/// Every form of `key` a careless log line could carry: (what, text to look for).
pub fn needles(key: &[u8]) -> Vec<(String, String)> {
    let mut out = vec![
        ("lower-case hex".into(), hex(key)),
        ("upper-case hex".into(), hex(key).to_ascii_uppercase()),
        ("base64".into(), base64(key, STANDARD, true)),
        ("base64 unpadded".into(), base64(key, STANDARD, false)),
        ("URL-safe base64".into(), base64(key, URL_SAFE, true)),
        (
            "URL-safe base64 unpadded".into(),
            base64(key, URL_SAFE, false),
        ),
        // Rust's `{:?}` of a byte slice and of its hex form, the likeliest slips.
        ("Debug byte list".into(), format!("{key:?}")),
        ("Debug hex list".into(), format!("{key:02x?}")),
    ];
    if key.iter().all(|b| (0x20..0x7f).contains(b)) {
        out.push(("raw text".into(), String::from_utf8(key.to_vec()).unwrap()));
    }
    if key.len() > WINDOW {
        for (i, w) in key.windows(WINDOW).enumerate() {
            out.push((format!("hex of bytes {i}..{}", i + WINDOW), hex(w)));
        }
    }
    out
}

/// Every (line, key, form) where a key shows in a line. Hex is also looked for in the
/// lower-cased line, so mixed-case hex is caught as well.
pub fn leaks(lines: &[String], keys: &[Key]) -> Vec<String> {
    let mut found = Vec::new();
    for key in keys {
        let forms = needles(&key.bytes);
        for line in lines {
            let lower = line.to_ascii_lowercase();
            for (form, needle) in &forms {
                let hit = line.contains(needle.as_str())
                    || (form.contains("hex") && lower.contains(&needle.to_ascii_lowercase()));
                if hit {
                    found.push(format!("{} as {form} in: {line}", key.name));
                }
            }
        }
    }
    found
}

/// Proves the search can fail on this session's own keys: each form of each key, planted
/// in an otherwise innocent line, is reported, and the session's real lines are not.
pub fn assert_no_leak(lines: &[String], keys: &[Key]) {
    for key in keys {
        for (form, needle) in needles(&key.bytes) {
            let planted = vec![format!("stored key 'x' ({needle}) on 127.0.0.1")];
            let hits = leaks(&planted, keys);
            assert!(
                hits.iter()
                    .any(|h| h.starts_with(&format!("{} as ", key.name))),
                "the search misses {} as {form}: {planted:?}",
                key.name
            );
        }
    }
    let hits = leaks(lines, keys);
    assert!(
        hits.is_empty(),
        "key material in the logs:\n{}",
        hits.join("\n")
    );
    let forms: usize = keys.iter().map(|k| needles(&k.bytes).len()).sum();
    println!(
        "searched {} lines for {} keys in {forms} forms: clean",
        lines.len(),
        keys.len(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoders_match_rfc_4648_and_the_search_finds_every_form() {
        // RFC 4648 section 10 vectors, so the planted checks below are not merely consistent
        // with a wrong encoder.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes(), STANDARD, true), encoded);
            assert_eq!(
                base64(plain.as_bytes(), STANDARD, false),
                encoded.trim_end_matches('=')
            );
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf], STANDARD, true), "+/+/");
        assert_eq!(base64(&[0xfb, 0xff, 0xbf], URL_SAFE, true), "-_-_");
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, true), "-_8=");
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, false), "-_8");
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");

        let key: Vec<u8> = (0..32u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(0xa5))
            .collect();
        let text = b"Printable Secret #42".to_vec();
        let keys = [Key::new("binary", &key), Key::new("text", &text)];
        let forms: Vec<String> = needles(&text).into_iter().map(|(f, _)| f).collect();
        assert!(forms.contains(&"raw text".to_owned()));
        assert!(!needles(&key).iter().any(|(f, _)| f == "raw text"));
        for k in &keys {
            for (form, needle) in needles(&k.bytes) {
                let line = format!("[Note] fetched {needle}.");
                let hits = leaks(std::slice::from_ref(&line), &keys);
                assert!(
                    hits.iter()
                        .any(|h| h.starts_with(&format!("{} as ", k.name))),
                    "{form} not found in {line}"
                );
            }
        }
        // Mixed-case hex is hex too; a line without the key is clean.
        let mixed: String = hex(&key)
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        assert!(!leaks(&[mixed], &keys).is_empty());
        assert!(leaks(&["keyring loaded 3 keys".into()], &keys).is_empty());
    }
}
