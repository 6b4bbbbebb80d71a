//! A small TTLV codec, written from the KMIP specification (section 9.1) independently of
//! the guest, so tests can build canned responses and inspect requests without trusting
//! the code under test.

use anyhow::{bail, Result};

/// A TTLV value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// 0x01
    Structure(Vec<Item>),
    /// 0x02
    Integer(i32),
    /// 0x03
    LongInteger(i64),
    /// 0x05
    Enumeration(u32),
    /// 0x06
    Boolean(bool),
    /// 0x07
    Text(String),
    /// 0x08
    Bytes(Vec<u8>),
    /// 0x09
    DateTime(i64),
}

/// A tagged TTLV item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The 3-byte tag, e.g. 0x42007B.
    pub tag: u32,
    /// The value.
    pub value: Value,
}

/// Structure.
pub fn st(tag: u32, children: Vec<Item>) -> Item {
    Item {
        tag,
        value: Value::Structure(children),
    }
}
/// Integer.
pub fn int(tag: u32, v: i32) -> Item {
    Item {
        tag,
        value: Value::Integer(v),
    }
}
/// Enumeration.
pub fn en(tag: u32, v: u32) -> Item {
    Item {
        tag,
        value: Value::Enumeration(v),
    }
}
/// Text String.
pub fn text(tag: u32, v: &str) -> Item {
    Item {
        tag,
        value: Value::Text(v.to_owned()),
    }
}
/// Byte String.
pub fn bytes(tag: u32, v: &[u8]) -> Item {
    Item {
        tag,
        value: Value::Bytes(v.to_vec()),
    }
}
/// Date-Time.
pub fn datetime(tag: u32, v: i64) -> Item {
    Item {
        tag,
        value: Value::DateTime(v),
    }
}

fn pad8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Encodes an item.
pub fn encode(item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(item, &mut out);
    out
}

fn encode_into(item: &Item, out: &mut Vec<u8>) {
    out.extend_from_slice(&item.tag.to_be_bytes()[1..]);
    let (ty, body): (u8, Vec<u8>) = match &item.value {
        Value::Structure(children) => {
            let mut body = Vec::new();
            for c in children {
                encode_into(c, &mut body);
            }
            (0x01, body)
        }
        Value::Integer(v) => (0x02, v.to_be_bytes().to_vec()),
        Value::LongInteger(v) => (0x03, v.to_be_bytes().to_vec()),
        Value::Enumeration(v) => (0x05, v.to_be_bytes().to_vec()),
        Value::Boolean(v) => (0x06, (*v as u64).to_be_bytes().to_vec()),
        Value::Text(v) => (0x07, v.as_bytes().to_vec()),
        Value::Bytes(v) => (0x08, v.clone()),
        Value::DateTime(v) => (0x09, v.to_be_bytes().to_vec()),
    };
    out.push(ty);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let padded = pad8(body.len());
    out.extend_from_slice(&body);
    out.resize(out.len() + padded - body.len(), 0);
}

/// Decodes one item that must span all of `input`.
pub fn decode(input: &[u8]) -> Result<Item> {
    let (item, used) = decode_one(input)?;
    if used != input.len() {
        bail!("{} trailing bytes after the item", input.len() - used);
    }
    Ok(item)
}

fn decode_one(input: &[u8]) -> Result<(Item, usize)> {
    if input.len() < 8 {
        bail!("truncated header");
    }
    let tag = u32::from_be_bytes([0, input[0], input[1], input[2]]);
    let ty = input[3];
    let len = u32::from_be_bytes([input[4], input[5], input[6], input[7]]) as usize;
    let body_end = 8 + len;
    let padded_end = if ty == 0x01 { body_end } else { 8 + pad8(len) };
    if input.len() < padded_end {
        bail!("item {tag:06X} overruns its container");
    }
    let body = &input[8..body_end];
    let fixed = |n: usize| -> Result<[u8; 8]> {
        if len != n {
            bail!("item {tag:06X} has length {len}, expected {n}");
        }
        let mut b = [0u8; 8];
        b[8 - n..].copy_from_slice(body);
        Ok(b)
    };
    let value = match ty {
        0x01 => {
            let mut children = Vec::new();
            let mut at = 0;
            while at < body.len() {
                let (child, used) = decode_one(&body[at..])?;
                children.push(child);
                at += used;
            }
            Value::Structure(children)
        }
        0x02 => Value::Integer(i64::from_be_bytes(fixed(4)?) as i32),
        0x03 => Value::LongInteger(i64::from_be_bytes(fixed(8)?)),
        0x05 => Value::Enumeration(u64::from_be_bytes(fixed(4)?) as u32),
        0x06 => Value::Boolean(u64::from_be_bytes(fixed(8)?) != 0),
        0x07 => Value::Text(String::from_utf8(body.to_vec())?),
        0x08 => Value::Bytes(body.to_vec()),
        0x09 => Value::DateTime(i64::from_be_bytes(fixed(8)?)),
        other => bail!("item {tag:06X} has unsupported type {other:#04x}"),
    };
    Ok((Item { tag, value }, padded_end))
}

impl Item {
    /// Children of a structure (empty for other types).
    pub fn children(&self) -> &[Item] {
        match &self.value {
            Value::Structure(c) => c,
            _ => &[],
        }
    }

    /// The first child with `tag`.
    pub fn child(&self, tag: u32) -> Option<&Item> {
        self.children().iter().find(|c| c.tag == tag)
    }

    /// Every child with `tag`.
    pub fn all(&self, tag: u32) -> Vec<&Item> {
        self.children().iter().filter(|c| c.tag == tag).collect()
    }

    /// Follows a path of tags through first children.
    pub fn path(&self, tags: &[u32]) -> Option<&Item> {
        tags.iter().try_fold(self, |item, tag| item.child(*tag))
    }

    /// Every item anywhere below (depth first) with `tag`.
    pub fn find_all(&self, tag: u32) -> Vec<&Item> {
        let mut found = Vec::new();
        for c in self.children() {
            if c.tag == tag {
                found.push(c);
            }
            found.extend(c.find_all(tag));
        }
        found
    }

    /// The enumeration value, if this is one.
    pub fn enumeration(&self) -> Option<u32> {
        match self.value {
            Value::Enumeration(v) => Some(v),
            _ => None,
        }
    }

    /// The text, if this is a text string.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Text(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(v) => Some(v),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn integer(&self) -> Option<i32> {
        match self.value {
            Value::Integer(v) => Some(v),
            _ => None,
        }
    }
}

/// KMIP tags used by the tests (KMIP 1.4 section 9.1.3.1).
#[allow(missing_docs)]
pub mod tag {
    pub const APPLICATION_DATA: u32 = 0x420002;
    pub const APPLICATION_NAMESPACE: u32 = 0x420003;
    pub const APPLICATION_SPECIFIC_INFORMATION: u32 = 0x420004;
    pub const ATTRIBUTE: u32 = 0x420008;
    pub const ATTRIBUTE_NAME: u32 = 0x42000A;
    pub const ATTRIBUTE_VALUE: u32 = 0x42000B;
    pub const BATCH_COUNT: u32 = 0x42000D;
    pub const BATCH_ERROR_CONTINUATION_OPTION: u32 = 0x42000E;
    pub const BATCH_ITEM: u32 = 0x42000F;
    pub const CRYPTOGRAPHIC_ALGORITHM: u32 = 0x420028;
    pub const CRYPTOGRAPHIC_LENGTH: u32 = 0x42002A;
    pub const KEY_BLOCK: u32 = 0x420040;
    pub const KEY_FORMAT_TYPE: u32 = 0x420042;
    pub const KEY_MATERIAL: u32 = 0x420043;
    pub const KEY_VALUE: u32 = 0x420045;
    pub const MAXIMUM_ITEMS: u32 = 0x42004F;
    pub const NAME: u32 = 0x420053;
    pub const NAME_TYPE: u32 = 0x420054;
    pub const NAME_VALUE: u32 = 0x420055;
    pub const OBJECT_TYPE: u32 = 0x420057;
    pub const OPERATION: u32 = 0x42005C;
    pub const PROTOCOL_VERSION: u32 = 0x420069;
    pub const PROTOCOL_VERSION_MAJOR: u32 = 0x42006A;
    pub const PROTOCOL_VERSION_MINOR: u32 = 0x42006B;
    pub const REQUEST_HEADER: u32 = 0x420077;
    pub const REQUEST_MESSAGE: u32 = 0x420078;
    pub const REQUEST_PAYLOAD: u32 = 0x420079;
    pub const RESPONSE_HEADER: u32 = 0x42007A;
    pub const RESPONSE_MESSAGE: u32 = 0x42007B;
    pub const RESPONSE_PAYLOAD: u32 = 0x42007C;
    pub const RESULT_MESSAGE: u32 = 0x42007D;
    pub const RESULT_REASON: u32 = 0x42007E;
    pub const RESULT_STATUS: u32 = 0x42007F;
    pub const REVOCATION_MESSAGE: u32 = 0x420080;
    pub const REVOCATION_REASON: u32 = 0x420081;
    pub const REVOCATION_REASON_CODE: u32 = 0x420082;
    pub const SECRET_DATA: u32 = 0x420085;
    pub const SECRET_DATA_TYPE: u32 = 0x420086;
    pub const STATE: u32 = 0x42008D;
    pub const SYMMETRIC_KEY: u32 = 0x42008F;
    pub const TEMPLATE_ATTRIBUTE: u32 = 0x420091;
    pub const TIME_STAMP: u32 = 0x420092;
    pub const UNIQUE_BATCH_ITEM_ID: u32 = 0x420093;
    pub const UNIQUE_IDENTIFIER: u32 = 0x420094;
    pub const OFFSET_ITEMS: u32 = 0x4200D4;
    pub const LOCATED_ITEMS: u32 = 0x4200D5;
    pub const KEY: u32 = 0x42003F;
}

/// KMIP Operation values.
#[allow(missing_docs)]
pub mod op {
    pub const REGISTER: u32 = 0x03;
    pub const LOCATE: u32 = 0x08;
    pub const GET: u32 = 0x0A;
    pub const GET_ATTRIBUTES: u32 = 0x0B;
    pub const ACTIVATE: u32 = 0x12;
    pub const REVOKE: u32 = 0x13;
    pub const DESTROY: u32 = 0x14;
    pub const DISCOVER_VERSIONS: u32 = 0x1E;
}

/// Object Type values (KMIP 1.4 section 9.1.3.2.12).
#[allow(missing_docs)]
pub mod object_type {
    pub const SYMMETRIC_KEY: u32 = 0x02;
    pub const SECRET_DATA: u32 = 0x07;
}

/// State values (9.1.3.2.17).
#[allow(missing_docs)]
pub mod state {
    pub const PRE_ACTIVE: u32 = 1;
    pub const ACTIVE: u32 = 2;
    pub const DEACTIVATED: u32 = 3;
    pub const DESTROYED: u32 = 5;
}

/// Result Reason values (9.1.3.2.29; KMIP 2.0 section 11.29 for the last two).
#[allow(missing_docs)]
pub mod reason {
    pub const ITEM_NOT_FOUND: u32 = 0x01;
    pub const INVALID_MESSAGE: u32 = 0x04;
    pub const OPERATION_NOT_SUPPORTED: u32 = 0x05;
    pub const INVALID_FIELD: u32 = 0x07;
    pub const PERMISSION_DENIED: u32 = 0x0C;
    pub const KEY_FORMAT_TYPE_NOT_SUPPORTED: u32 = 0x10;
    pub const OBJECT_DESTROYED: u32 = 0x36;
    pub const WRONG_KEY_LIFECYCLE_STATE: u32 = 0x43;
}

/// Key Format Type values (9.1.3.2.3).
#[allow(missing_docs)]
pub mod key_format {
    pub const RAW: u32 = 0x01;
    pub const OPAQUE: u32 = 0x02;
    pub const TRANSPARENT_SYMMETRIC_KEY: u32 = 0x07;
}

/// Cryptographic Algorithm values (9.1.3.2.13).
#[allow(missing_docs)]
pub mod algorithm {
    pub const AES: u32 = 0x03;
}

/// The payload that names one object: its Unique Identifier.
pub fn uid_payload(uid: &str) -> Vec<Item> {
    vec![text(tag::UNIQUE_IDENTIFIER, uid)]
}

/// The answer to a load's first request, one Locate per object type in one message,
/// finding nothing.
pub fn empty_locates(minor: i32) -> Vec<u8> {
    response(
        1,
        minor,
        vec![
            success(op::LOCATE, Some(0), vec![]),
            success(op::LOCATE, Some(1), vec![]),
        ],
    )
}

/// A Raw AES Symmetric Key structure, as the keyring registers one.
pub fn aes_object(material: &[u8]) -> Item {
    st(
        tag::SYMMETRIC_KEY,
        vec![st(
            tag::KEY_BLOCK,
            vec![
                en(tag::KEY_FORMAT_TYPE, key_format::RAW),
                st(tag::KEY_VALUE, vec![bytes(tag::KEY_MATERIAL, material)]),
                en(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm::AES),
                int(tag::CRYPTOGRAPHIC_LENGTH, material.len() as i32 * 8),
            ],
        )],
    )
}

/// A Secret Data object of type Password, Opaque, as the keyring registers one.
pub fn secret_object(material: &[u8]) -> Item {
    st(
        tag::SECRET_DATA,
        vec![
            en(tag::SECRET_DATA_TYPE, 1),
            st(
                tag::KEY_BLOCK,
                vec![
                    en(tag::KEY_FORMAT_TYPE, key_format::OPAQUE),
                    st(tag::KEY_VALUE, vec![bytes(tag::KEY_MATERIAL, material)]),
                ],
            ),
        ],
    )
}

/// The Get payload of an AES key: Object Type, Unique Identifier, the key.
pub fn aes_get_payload(uid: &str, material: &[u8]) -> Vec<Item> {
    vec![
        en(tag::OBJECT_TYPE, object_type::SYMMETRIC_KEY),
        text(tag::UNIQUE_IDENTIFIER, uid),
        aes_object(material),
    ]
}

/// One named attribute.
pub fn attribute(name: &str, value: Item) -> Item {
    st(tag::ATTRIBUTE, vec![text(tag::ATTRIBUTE_NAME, name), value])
}

/// A Name attribute (Uninterpreted Text String).
pub fn name_attribute(name: &str) -> Item {
    attribute(
        "Name",
        st(
            tag::ATTRIBUTE_VALUE,
            vec![text(tag::NAME_VALUE, name), en(tag::NAME_TYPE, 1)],
        ),
    )
}

/// A State attribute.
pub fn state_attribute(value: u32) -> Item {
    attribute("State", en(tag::ATTRIBUTE_VALUE, value))
}

/// A response message with the given batch items, KMIP `major.minor`.
pub fn response(major: i32, minor: i32, items: Vec<Item>) -> Vec<u8> {
    let header = st(
        tag::RESPONSE_HEADER,
        vec![
            st(
                tag::PROTOCOL_VERSION,
                vec![
                    int(tag::PROTOCOL_VERSION_MAJOR, major),
                    int(tag::PROTOCOL_VERSION_MINOR, minor),
                ],
            ),
            datetime(tag::TIME_STAMP, 1_700_000_000),
            int(tag::BATCH_COUNT, items.len() as i32),
        ],
    );
    let mut children = vec![header];
    children.extend(items);
    encode(&st(tag::RESPONSE_MESSAGE, children))
}

/// A successful batch item for `operation` with a payload.
pub fn success(operation: u32, id: Option<u32>, payload: Vec<Item>) -> Item {
    let mut children = vec![en(tag::OPERATION, operation)];
    if let Some(id) = id {
        children.push(bytes(tag::UNIQUE_BATCH_ITEM_ID, &id.to_be_bytes()));
    }
    children.push(en(tag::RESULT_STATUS, 0));
    children.push(st(tag::RESPONSE_PAYLOAD, payload));
    st(tag::BATCH_ITEM, children)
}

/// A failed batch item for `operation`.
pub fn failure(operation: u32, id: Option<u32>, reason: u32, message: &str) -> Item {
    let mut children = vec![en(tag::OPERATION, operation)];
    if let Some(id) = id {
        children.push(bytes(tag::UNIQUE_BATCH_ITEM_ID, &id.to_be_bytes()));
    }
    children.push(en(tag::RESULT_STATUS, 1));
    children.push(en(tag::RESULT_REASON, reason));
    children.push(text(tag::RESULT_MESSAGE, message));
    st(tag::BATCH_ITEM, children)
}

/// A Discover Versions payload listing the given (major, minor) versions.
pub fn protocol_versions(versions: &[(i32, i32)]) -> Vec<Item> {
    versions
        .iter()
        .map(|(ma, mi)| {
            st(
                tag::PROTOCOL_VERSION,
                vec![
                    int(tag::PROTOCOL_VERSION_MAJOR, *ma),
                    int(tag::PROTOCOL_VERSION_MINOR, *mi),
                ],
            )
        })
        .collect()
}

/// The Discover Versions answer of a server that speaks the given versions.
pub fn discover_versions_response(versions: &[(i32, i32)]) -> Vec<u8> {
    let payload = protocol_versions(versions);
    response(1, 1, vec![success(op::DISCOVER_VERSIONS, None, payload)])
}

/// A request's batch items as (operation, payload).
pub fn request_items(request: &[u8]) -> Result<Vec<(u32, Item)>> {
    let message = decode(request)?;
    if message.tag != tag::REQUEST_MESSAGE {
        bail!("not a request message: tag {:06X}", message.tag);
    }
    message
        .all(tag::BATCH_ITEM)
        .into_iter()
        .map(|item| {
            let op = item
                .child(tag::OPERATION)
                .and_then(Item::enumeration)
                .ok_or_else(|| anyhow::anyhow!("batch item without operation"))?;
            let payload = item
                .child(tag::REQUEST_PAYLOAD)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("batch item without payload"))?;
            Ok((op, payload))
        })
        .collect()
}

/// The named attributes of a template or attribute list: (name, value item).
pub fn attributes(container: &Item) -> Vec<(String, Item)> {
    container
        .find_all(tag::ATTRIBUTE)
        .into_iter()
        .filter_map(|a| {
            let name = a.child(tag::ATTRIBUTE_NAME)?.text()?.to_owned();
            let value = a.child(tag::ATTRIBUTE_VALUE)?.clone();
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads() {
        let item = st(
            0x420001,
            vec![
                int(0x420002, -5),
                text(0x420003, "abc"),
                bytes(0x420004, &[1, 2, 3]),
            ],
        );
        let encoded = encode(&item);
        assert_eq!(encoded.len() % 8, 0);
        assert_eq!(decode(&encoded).unwrap(), item);
        assert!(decode(&encoded[..encoded.len() - 8]).is_err());
    }
}
