//! TTLV framing check and attribute filter, run on every response before `kmip-ttlv` sees it.
//!
//! `kmip-ttlv` trusts the lengths it reads (it allocates a declared length of up to 4 GiB
//! before looking at how much input is left) and `kmip-protocol` decodes an Attribute whose
//! name it does not know through a catch-all that recurses without consuming input. Both are
//! reached from bytes a server sends, so this module first walks the whole TTLV tree with
//! fixed limits and rejects anything whose framing is wrong, then removes every Attribute the
//! keyring does not read, so that the catch-all is never reached. What remains is handed to
//! `kmip-ttlv` unchanged in meaning.

use crate::error::KeyringError;
use std::ops::Deref;
use zeroize::Zeroizing;

/// Nesting limit for structures. The deepest response we read (a Get's Key Value: message,
/// batch item, payload, object, key block, key value) is 6 levels deep; 32 leaves room for
/// server extensions while keeping the recursion here, and in `kmip-ttlv`, shallow.
pub const MAX_DEPTH: usize = 32;

/// Item limit. A 16 MiB response holds at most 2 Mi items of 8 bytes; the bound keeps the
/// work per response linear and small whatever the transport's cap.
pub const MAX_ITEMS: usize = 2_000_000;

const HEADER_LEN: usize = 8;

const RESPONSE_MESSAGE: u32 = 0x42_007B;
const ATTRIBUTE: u32 = 0x42_0008;
const ATTRIBUTE_INDEX: u32 = 0x42_0009;
const ATTRIBUTE_NAME: u32 = 0x42_000A;
const ATTRIBUTE_VALUE: u32 = 0x42_000B;

const STRUCTURE: u8 = 0x01;
const INTEGER: u8 = 0x02;
const LONG_INTEGER: u8 = 0x03;
const BIG_INTEGER: u8 = 0x04;
const ENUMERATION: u8 = 0x05;
const BOOLEAN: u8 = 0x06;
const TEXT_STRING: u8 = 0x07;
const BYTE_STRING: u8 = 0x08;
const DATE_TIME: u8 = 0x09;
const INTERVAL: u8 = 0x0A;

/// The attributes the keyring asks for (request::LOAD_ATTRIBUTES, request::get_state) and
/// reads (keyring::LoadedNames), with the TTLV type of their Attribute Value. Every other
/// Attribute is dropped before decoding: we never look at it, and kmip-protocol's catch-all
/// for unknown names is the recursion this module exists to avoid.
const KEPT_ATTRIBUTES: [(&str, u8); 3] = [
    ("Name", STRUCTURE),
    ("State", ENUMERATION),
    ("Application Specific Information", STRUCTURE),
];

/// A response that passed the check: the original bytes when nothing had to be removed, or
/// a filtered copy. The copy holds key material, so it is wiped on drop.
pub enum Framed<'a> {
    /// Nothing was dropped: the input as it came.
    Unchanged(&'a [u8]),
    /// Some Attributes were dropped and the enclosing lengths re-encoded.
    Filtered(Zeroizing<Vec<u8>>),
}

impl Deref for Framed<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Unchanged(bytes) => bytes,
            Self::Filtered(bytes) => bytes,
        }
    }
}

/// Checks that `bytes` is exactly one well-framed Response Message and drops the Attributes
/// the keyring does not read.
pub fn check(bytes: &[u8]) -> Result<Framed<'_>, KeyringError> {
    let mut walker = Walker {
        buf: bytes,
        items: 0,
        dropped: 0,
    };
    let top = walker.item(0, bytes.len(), 0, "the response")?;
    if top.tag != RESPONSE_MESSAGE || top.ty != STRUCTURE {
        return Err(malformed(format!(
            "the message at offset 0 is tag {:06X} type {}, not a Response Message \
             (42007B, Structure)",
            top.tag,
            type_name(top.ty)
        )));
    }
    if top.end != bytes.len() {
        return Err(malformed(format!(
            "{} trailing bytes after the Response Message, from offset {}",
            bytes.len() - top.end,
            top.end
        )));
    }
    if walker.dropped == 0 {
        return Ok(Framed::Unchanged(bytes));
    }
    // Reserved at full size up front: the output is never longer than the input, so the
    // vector never reallocates and leaves no unwiped copy of key material behind.
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    walker.copy_item(&top, &mut out)?;
    Ok(Framed::Filtered(out))
}

fn malformed(message: String) -> KeyringError {
    KeyringError::MalformedResponse(message)
}

fn type_name(ty: u8) -> &'static str {
    match ty {
        STRUCTURE => "Structure",
        INTEGER => "Integer",
        LONG_INTEGER => "Long Integer",
        BIG_INTEGER => "Big Integer",
        ENUMERATION => "Enumeration",
        BOOLEAN => "Boolean",
        TEXT_STRING => "Text String",
        BYTE_STRING => "Byte String",
        DATE_TIME => "Date-Time",
        INTERVAL => "Interval",
        _ => "unknown",
    }
}

/// One item whose header has been read and whose value lies within its parent.
struct Item {
    /// Offset of the header.
    at: usize,
    tag: u32,
    ty: u8,
    /// Declared length: the value without padding (Structures: their content).
    len: u32,
    /// End of the value including padding, i.e. where the next sibling starts.
    end: usize,
}

impl Item {
    fn value_start(&self) -> usize {
        self.at + HEADER_LEN
    }

    fn value<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        // In range: `item` checked that the padded value fits, and len <= padded length.
        &buf[self.value_start()..self.value_start() + self.len as usize]
    }
}

struct Walker<'a> {
    buf: &'a [u8],
    /// Items seen so far, against MAX_ITEMS.
    items: usize,
    /// Attributes found to drop.
    dropped: usize,
}

impl Walker<'_> {
    /// Reads the header at `at`, checks the item against its type's rules and against
    /// `limit` (the end of its parent), and checks a Structure's content recursively.
    /// `depth` is the number of structures enclosing it.
    fn item(
        &mut self,
        at: usize,
        limit: usize,
        depth: usize,
        parent: &str,
    ) -> Result<Item, KeyringError> {
        self.items += 1;
        if self.items > MAX_ITEMS {
            return Err(malformed(format!(
                "more than {MAX_ITEMS} items, at offset {at}"
            )));
        }
        let room = limit - at;
        if room < HEADER_LEN {
            return Err(malformed(format!(
                "an item header at offset {at} is truncated: {room} of 8 bytes are left in \
                 {parent}"
            )));
        }
        let h = &self.buf[at..at + HEADER_LEN];
        let tag = u32::from_be_bytes([0, h[0], h[1], h[2]]);
        let ty = h[3];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let fixed = match ty {
            INTEGER | ENUMERATION | INTERVAL => Some(4),
            LONG_INTEGER | BOOLEAN | DATE_TIME => Some(8),
            STRUCTURE | BIG_INTEGER | TEXT_STRING | BYTE_STRING => None,
            _ => {
                return Err(malformed(format!(
                    "item {tag:06X} at offset {at} has unknown type 0x{ty:02X}"
                )))
            }
        };
        if let Some(expected) = fixed {
            if len != expected {
                return Err(malformed(format!(
                    "{} {tag:06X} at offset {at} has length {len}, not {expected}",
                    type_name(ty)
                )));
            }
        }
        // Structure content is a sequence of padded items and Big Integers carry their own
        // padding, so both lengths are multiples of 8 already.
        if matches!(ty, STRUCTURE | BIG_INTEGER) && len % 8 != 0 {
            return Err(malformed(format!(
                "{} {tag:06X} at offset {at} has length {len}, not a multiple of 8",
                type_name(ty)
            )));
        }
        // u64: on wasm32 a padded 4 GiB length does not fit a usize.
        let padded = u64::from(len).div_ceil(8) * 8;
        let available = (room - HEADER_LEN) as u64;
        if padded > available {
            return Err(malformed(format!(
                "{} {tag:06X} at offset {at} declares a length of {len} bytes ({padded} with \
                 padding), but only {available} bytes are left in {parent}",
                type_name(ty)
            )));
        }
        // Fits: padded <= available < usize::MAX.
        let end = at + HEADER_LEN + padded as usize;
        let item = Item {
            at,
            tag,
            ty,
            len,
            end,
        };
        if ty == STRUCTURE {
            if depth >= MAX_DEPTH {
                return Err(malformed(format!(
                    "structures nest deeper than {MAX_DEPTH} levels at offset {at}"
                )));
            }
            let name = format!("structure {tag:06X} at offset {at}");
            let mut child = item.value_start();
            while child < end {
                child = self.item(child, end, depth + 1, &name)?.end;
            }
        }
        if tag == ATTRIBUTE && !self.keeps_attribute(&item)? {
            self.dropped += 1;
        }
        Ok(item)
    }

    /// Decides whether an Attribute (already checked) is kept: yes when it names one of
    /// KEPT_ATTRIBUTES, laid out as Attribute Name, optional Attribute Index, Attribute
    /// Value of the expected type; no when it names none of them; an error when it names one
    /// but is laid out otherwise (kmip-protocol picks the value's variant from the name seen
    /// before it, so the order matters).
    fn keeps_attribute(&self, attribute: &Item) -> Result<bool, KeyringError> {
        if attribute.ty != STRUCTURE {
            return Err(malformed(format!(
                "the Attribute at offset {} is a {}, not a Structure",
                attribute.at,
                type_name(attribute.ty)
            )));
        }
        let children = self.children(attribute);
        let kept_name = |item: &Item| {
            if item.tag != ATTRIBUTE_NAME || item.ty != TEXT_STRING {
                return None;
            }
            let name = item.value(self.buf);
            KEPT_ATTRIBUTES
                .iter()
                .find(|(kept, _)| kept.as_bytes() == name)
        };
        let Some(&(name, value_type)) = children.iter().find_map(kept_name) else {
            return Ok(false);
        };
        let mut rest = children.iter();
        let first_is_name = rest.next().and_then(kept_name).is_some();
        let mut next = rest.next();
        if next.is_some_and(|i| i.tag == ATTRIBUTE_INDEX && i.ty == INTEGER) {
            next = rest.next();
        }
        let value_fits = next.is_some_and(|i| i.tag == ATTRIBUTE_VALUE && i.ty == value_type);
        if first_is_name && value_fits && rest.next().is_none() {
            Ok(true)
        } else {
            Err(malformed(format!(
                "the {name} Attribute at offset {} is not an Attribute Name, an optional \
                 Attribute Index and an Attribute Value of type {}",
                attribute.at,
                type_name(value_type)
            )))
        }
    }

    /// The direct children of a checked Structure.
    fn children(&self, parent: &Item) -> Vec<Item> {
        let mut children = Vec::new();
        let mut at = parent.value_start();
        while at < parent.end {
            let child = self.header_of_checked(at);
            at = child.end;
            children.push(child);
        }
        children
    }

    /// Reads the header of an item that `item` has already checked.
    fn header_of_checked(&self, at: usize) -> Item {
        let h = &self.buf[at..at + HEADER_LEN];
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        Item {
            at,
            tag: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            ty: h[3],
            len,
            end: at + HEADER_LEN + (len as usize).div_ceil(8) * 8,
        }
    }

    /// Copies a checked item into `out`, leaving out dropped Attributes at any depth and
    /// re-encoding the length of every Structure on the way.
    fn copy_item(&self, item: &Item, out: &mut Vec<u8>) -> Result<(), KeyringError> {
        if item.ty != STRUCTURE {
            out.extend_from_slice(&self.buf[item.at..item.end]);
            return Ok(());
        }
        out.extend_from_slice(&self.buf[item.at..item.at + 4]);
        let length_at = out.len();
        out.extend_from_slice(&[0; 4]);
        for child in self.children(item) {
            // The check already decided every Attribute: Ok(false) means dropped.
            if child.tag == ATTRIBUTE && !self.keeps_attribute(&child)? {
                continue;
            }
            self.copy_item(&child, out)?;
        }
        let length = u32::try_from(out.len() - length_at - 4).map_err(|_| {
            malformed(format!(
                "structure at offset {} grew while filtering",
                item.at
            ))
        })?;
        out[length_at..length_at + 4].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmip::request::LOAD_ATTRIBUTES;
    use crate::kmip::response::{self, ResponsePayload};
    use kmip_protocol::types::common::{AttributeValue, State};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// fuzz/artifacts/kmip_response/crash-minimal-attribute-structure-recursion: a Get
    /// Attributes answer with an unknown attribute whose value is an empty Structure.
    const RECURSION: &str = "42007b01000000b042007a0100000048420069010000002042006a020000\
        0004000000010000000042006b020000000400000004000000004200920900000008000000006553f100\
        42000d0200000004000000010000000042000f010000005842005c05000000040000000b0000000042007f\
        0500000004000000000000000042007c010000003042009407000000013100000000000000420008010000\
        001842000a0700000008782d637573746f6d42000b0100000000";

    /// fuzz/artifacts/kmip_response/oom-minimal-text-length-4gib: a Result Message declaring
    /// 4 GiB at the end of the input.
    const HUGE_TEXT: &str = "42007b010000008042007a0100000048420069010000002042006a02000000\
        04000000010000000042006b020000000400000004000000004200920900000008000000000000000142\
        000d0200000004000000010000000042000f010000002842005c0500000004000000130000000042007f\
        0500000004000000010000000042007d07ffffffff";

    // A minimal TTLV encoder, for building messages in the tests.

    fn raw(tag: u32, ty: u8, value: &[u8]) -> Vec<u8> {
        let mut out = tag.to_be_bytes()[1..].to_vec();
        out.push(ty);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().div_ceil(8) * 8, 0);
        out
    }

    fn st(tag: u32, children: &[Vec<u8>]) -> Vec<u8> {
        raw(tag, STRUCTURE, &children.concat())
    }

    fn int(tag: u32, v: i32) -> Vec<u8> {
        raw(tag, INTEGER, &v.to_be_bytes())
    }

    fn en(tag: u32, v: u32) -> Vec<u8> {
        raw(tag, ENUMERATION, &v.to_be_bytes())
    }

    fn text(tag: u32, v: &str) -> Vec<u8> {
        raw(tag, TEXT_STRING, v.as_bytes())
    }

    fn response(operation: u32, payload: &[Vec<u8>]) -> Vec<u8> {
        st(
            RESPONSE_MESSAGE,
            &[
                st(
                    0x42007A,
                    &[
                        st(0x420069, &[int(0x42006A, 1), int(0x42006B, 4)]),
                        raw(0x420092, DATE_TIME, &1_700_000_000i64.to_be_bytes()),
                        int(0x42000D, 1),
                    ],
                ),
                st(
                    0x42000F,
                    &[
                        en(0x42005C, operation),
                        en(0x42007F, 0),
                        st(0x42007C, payload),
                    ],
                ),
            ],
        )
    }

    fn attribute(name: &str, value: Vec<u8>) -> Vec<u8> {
        st(ATTRIBUTE, &[text(ATTRIBUTE_NAME, name), value])
    }

    fn name_attribute(name: &str) -> Vec<u8> {
        attribute(
            "Name",
            st(ATTRIBUTE_VALUE, &[text(0x420055, name), en(0x420054, 1)]),
        )
    }

    fn get_attributes(attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut payload = vec![text(0x420094, "1")];
        payload.extend_from_slice(attributes);
        response(0x0B, &payload)
    }

    fn decoded_attributes(bytes: &[u8]) -> Vec<AttributeValue> {
        let mut message = response::decode(bytes).expect("decodes");
        match message.batch_items.remove(0).payload {
            Some(ResponsePayload::GetAttributes(p)) => p
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|a| a.value)
                .collect(),
            other => panic!("not a Get Attributes payload: {other:?}"),
        }
    }

    fn error_of(bytes: &[u8]) -> String {
        match check(bytes) {
            Err(KeyringError::MalformedResponse(m)) => m,
            Err(other) => panic!("not a malformed response: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn the_keyrings_attributes_are_kept() {
        for name in LOAD_ATTRIBUTES.iter().chain(&["State"]) {
            assert!(
                KEPT_ATTRIBUTES.iter().any(|(kept, _)| kept == name),
                "{name} is asked for but would be dropped"
            );
        }
    }

    #[test]
    fn the_recursion_input_decodes_without_the_unknown_attribute() {
        let bytes = hex(RECURSION);
        let framed = check(&bytes).expect("well framed");
        assert!(matches!(framed, Framed::Filtered(_)));
        assert!(decoded_attributes(&bytes).is_empty());
    }

    #[test]
    fn the_huge_length_input_is_malformed_naming_the_length() {
        let m = error_of(&hex(HUGE_TEXT));
        assert!(m.contains("4294967295"), "{m}");
        assert!(m.contains("offset 128"), "{m}");
        assert!(matches!(
            response::decode(&hex(HUGE_TEXT)),
            Err(KeyringError::MalformedResponse(_))
        ));
    }

    #[test]
    fn a_valid_response_passes_unchanged() {
        let bytes = get_attributes(&[
            name_attribute("key-1"),
            st(
                ATTRIBUTE,
                &[
                    text(ATTRIBUTE_NAME, "State"),
                    int(ATTRIBUTE_INDEX, 0),
                    en(ATTRIBUTE_VALUE, 2),
                ],
            ),
            attribute(
                "Application Specific Information",
                st(
                    ATTRIBUTE_VALUE,
                    &[text(0x420003, "mysql"), text(0x420002, "root@localhost")],
                ),
            ),
        ]);
        match check(&bytes).expect("valid") {
            Framed::Unchanged(b) => assert_eq!(b, &bytes[..]),
            Framed::Filtered(_) => panic!("a valid response was rewritten"),
        }
        let values = decoded_attributes(&bytes);
        assert_eq!(values.len(), 3);
        assert!(matches!(&values[0], AttributeValue::Name(n, _) if n.0 == "key-1"));
        assert!(matches!(values[1], AttributeValue::State(State::Active)));
        assert!(matches!(
            &values[2],
            AttributeValue::ApplicationSpecificInformation(ns, data)
                if ns.0 == "mysql" && data.0 == "root@localhost"
        ));
    }

    #[test]
    fn unknown_attributes_are_dropped_and_lengths_re_encoded() {
        let unknown = attribute(
            "x-custom",
            st(ATTRIBUTE_VALUE, &[st(ATTRIBUTE_VALUE, &[int(0x420001, 7)])]),
        );
        let bytes = get_attributes(&[
            unknown.clone(),
            name_attribute("key-1"),
            attribute("Cryptographic Length", int(ATTRIBUTE_VALUE, 256)),
            unknown,
        ]);
        let framed = check(&bytes).expect("valid");
        let expected = get_attributes(&[name_attribute("key-1")]);
        assert_eq!(&framed[..], &expected[..]);
        // The filtered message is itself well framed and stable.
        assert!(matches!(check(&framed), Ok(Framed::Unchanged(_))));
        let values = decoded_attributes(&bytes);
        assert_eq!(values.len(), 1);
        assert!(matches!(&values[0], AttributeValue::Name(n, _) if n.0 == "key-1"));
    }

    #[test]
    fn a_kept_attribute_out_of_order_is_malformed() {
        let bytes = get_attributes(&[st(
            ATTRIBUTE,
            &[en(ATTRIBUTE_VALUE, 2), text(ATTRIBUTE_NAME, "State")],
        )]);
        let m = error_of(&bytes);
        assert!(m.contains("State Attribute"), "{m}");
        // A kept name with a value of another type would reach kmip-protocol's guesswork.
        let bytes = get_attributes(&[attribute("State", st(ATTRIBUTE_VALUE, &[]))]);
        assert!(error_of(&bytes).contains("Enumeration"));
    }

    #[test]
    fn too_deep_nesting_is_rejected() {
        let mut inner = int(0x420001, 1);
        for _ in 0..MAX_DEPTH {
            inner = st(0x420002, &[inner]);
        }
        let bytes = response(0x08, &[inner]);
        let m = error_of(&bytes);
        assert!(m.contains("deeper than 32"), "{m}");
    }

    #[test]
    fn nesting_up_to_the_limit_is_accepted() {
        // Response Message, Batch Item and Payload are three levels.
        let mut inner = int(0x420001, 1);
        for _ in 0..MAX_DEPTH - 3 {
            inner = st(0x420002, &[inner]);
        }
        assert!(check(&response(0x08, &[inner])).is_ok());
    }

    #[test]
    fn wrong_fixed_lengths_are_rejected() {
        for (ty, len) in [
            (INTEGER, 8),
            (ENUMERATION, 8),
            (INTERVAL, 2),
            (LONG_INTEGER, 4),
            (BOOLEAN, 4),
            (DATE_TIME, 16),
        ] {
            let bytes = response(0x08, &[raw(0x420001, ty, &vec![0; len])]);
            let m = error_of(&bytes);
            assert!(m.contains(&format!("has length {len}")), "{m}");
            assert!(m.contains(type_name(ty)), "{m}");
        }
        let bytes = response(0x08, &[raw(0x420001, BIG_INTEGER, &[1; 12])]);
        assert!(error_of(&bytes).contains("multiple of 8"));
    }

    #[test]
    fn framing_errors_are_rejected() {
        let good = get_attributes(&[name_attribute("key-1")]);
        assert!(matches!(check(&good), Ok(Framed::Unchanged(_))));

        assert!(error_of(&[]).contains("truncated"));
        let mut truncated = good.clone();
        truncated.truncate(good.len() - 4);
        assert!(error_of(&truncated).contains("declares a length"));

        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0; 8]);
        assert!(error_of(&trailing).contains("8 trailing bytes"));

        let mut wrong_tag = good.clone();
        wrong_tag[2] = 0x78;
        assert!(error_of(&wrong_tag).contains("not a Response Message"));

        let unknown_type = response(0x08, &[raw(0x420001, 0x0B, &[0; 8])]);
        assert!(error_of(&unknown_type).contains("unknown type 0x0B"));

        // The last item's padding is required (kmip-ttlv reads it too): without it the
        // message's length is off the 8-byte grid, or, if it counts the padding, the bytes
        // run out.
        let mut unpadded = response(0x08, &[]);
        unpadded.extend_from_slice(&text(0x420001, "abc")[..11]);
        let total = (unpadded.len() - 8) as u32;
        unpadded[4..8].copy_from_slice(&total.to_be_bytes());
        let m = error_of(&unpadded);
        assert!(
            m.contains("offset 0 has length") && m.contains("multiple of 8"),
            "{m}"
        );
        unpadded[4..8].copy_from_slice(&(total + 5).to_be_bytes());
        let m = error_of(&unpadded);
        assert!(m.contains("bytes are left in the response"), "{m}");

        // A child whose length runs past its parent but not past the buffer.
        let mut overrun = response(0x08, &[text(0x420001, "abcdefgh")]);
        let payload_at = overrun.len() - 24;
        overrun[payload_at + 4..payload_at + 8].copy_from_slice(&8u32.to_be_bytes());
        let m = error_of(&overrun);
        assert!(m.contains("left in structure 42007C"), "{m}");
    }

    #[test]
    fn the_item_count_is_bounded() {
        let items = vec![raw(0x420001, TEXT_STRING, &[]); MAX_ITEMS];
        let m = error_of(&response(0x08, &items));
        assert!(m.contains("more than 2000000 items"), "{m}");
    }
}
