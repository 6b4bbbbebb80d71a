# Writes the seed corpora under fuzz/corpus/ (KMIP TTLV messages built per KMIP 1.4 section 9.1, config JSON); rerun after changing it.
"""Seed corpora for the fuzz targets.

Usage: python3 fuzz/make_seeds.py   (from anywhere; writes next to this file)

The TTLV encoder below follows the KMIP specification (tag: 3 bytes, type: 1 byte,
length: 4 bytes big-endian, value padded to 8 bytes) and is independent of the code under
test, like tests/src/ttlv.rs. keyring_session seeds are a flags byte, a sizes byte and
then response messages, each prefixed by its big-endian u16 length (see
fuzz_targets/keyring_session.rs).
"""

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# Tags (KMIP 1.4, 9.1.3.1).
APPLICATION_DATA = 0x420002
APPLICATION_NAMESPACE = 0x420003
ATTRIBUTE = 0x420008
ATTRIBUTE_NAME = 0x42000A
ATTRIBUTE_VALUE = 0x42000B
BATCH_COUNT = 0x42000D
BATCH_ITEM = 0x42000F
CRYPTOGRAPHIC_ALGORITHM = 0x420028
CRYPTOGRAPHIC_LENGTH = 0x42002A
KEY_BLOCK = 0x420040
KEY_FORMAT_TYPE = 0x420042
KEY_MATERIAL = 0x420043
KEY_VALUE = 0x420045
NAME_TYPE = 0x420054
NAME_VALUE = 0x420055
OBJECT_TYPE = 0x420057
OPERATION = 0x42005C
PROTOCOL_VERSION = 0x420069
PROTOCOL_VERSION_MAJOR = 0x42006A
PROTOCOL_VERSION_MINOR = 0x42006B
RESPONSE_HEADER = 0x42007A
RESPONSE_MESSAGE = 0x42007B
RESPONSE_PAYLOAD = 0x42007C
RESULT_MESSAGE = 0x42007D
RESULT_REASON = 0x42007E
RESULT_STATUS = 0x42007F
SECRET_DATA = 0x420085
SECRET_DATA_TYPE = 0x420086
SYMMETRIC_KEY = 0x42008F
TIME_STAMP = 0x420092
UNIQUE_BATCH_ITEM_ID = 0x420093
UNIQUE_IDENTIFIER = 0x420094
LOCATED_ITEMS = 0x4200D5

# Operations.
REGISTER, LOCATE, GET, GET_ATTRIBUTES = 0x03, 0x08, 0x0A, 0x0B
ACTIVATE, REVOKE, DESTROY, DISCOVER_VERSIONS = 0x12, 0x13, 0x14, 0x1E

# Result reasons.
ITEM_NOT_FOUND, OPERATION_NOT_SUPPORTED, PERMISSION_DENIED = 0x01, 0x05, 0x0C


def item(tag, typ, body):
    pad = b"" if typ == 0x01 else b"\0" * (-len(body) % 8)
    return struct.pack(">I", tag)[1:] + bytes([typ]) + struct.pack(">I", len(body)) + body + pad


def st(tag, *children):
    return item(tag, 0x01, b"".join(children))


def integer(tag, v):
    return item(tag, 0x02, struct.pack(">i", v))


def enum(tag, v):
    return item(tag, 0x05, struct.pack(">I", v))


def text(tag, v):
    return item(tag, 0x07, v.encode())


def byte_string(tag, v):
    return item(tag, 0x08, v)


def datetime(tag, v):
    return item(tag, 0x09, struct.pack(">q", v))


def version(major, minor):
    return st(PROTOCOL_VERSION, integer(PROTOCOL_VERSION_MAJOR, major),
              integer(PROTOCOL_VERSION_MINOR, minor))


def response(items, major=1, minor=4):
    header = st(RESPONSE_HEADER, version(major, minor), datetime(TIME_STAMP, 1_700_000_000),
                integer(BATCH_COUNT, len(items)))
    return st(RESPONSE_MESSAGE, header, *items)


def batch_id(index):
    return [] if index is None else [byte_string(UNIQUE_BATCH_ITEM_ID, struct.pack(">I", index))]


def success(op, payload, index=None):
    return st(BATCH_ITEM, enum(OPERATION, op), *batch_id(index), enum(RESULT_STATUS, 0),
              st(RESPONSE_PAYLOAD, *payload))


def failure(op, reason, message, index=None):
    return st(BATCH_ITEM, enum(OPERATION, op), *batch_id(index), enum(RESULT_STATUS, 1),
              enum(RESULT_REASON, reason), text(RESULT_MESSAGE, message))


def uid(v):
    return text(UNIQUE_IDENTIFIER, v)


def discover(*versions):
    return response([success(DISCOVER_VERSIONS, [version(*v) for v in versions])], 1, 1)


def locate(*ids):
    return response([success(LOCATE, [uid(i) for i in ids])])


def identified(op, object_id):
    return response([success(op, [uid(object_id)])])


def key_block(material, format_type=1, algorithm=True):
    extra = [enum(CRYPTOGRAPHIC_ALGORITHM, 3), integer(CRYPTOGRAPHIC_LENGTH, len(material) * 8)]
    return st(KEY_BLOCK, enum(KEY_FORMAT_TYPE, format_type),
              st(KEY_VALUE, byte_string(KEY_MATERIAL, material)), *(extra if algorithm else []))


def get_symmetric(object_id, material, index):
    return success(GET, [enum(OBJECT_TYPE, 2), uid(object_id),
                         st(SYMMETRIC_KEY, key_block(material))], index)


def get_secret(object_id, material, index):
    return success(GET, [enum(OBJECT_TYPE, 7), uid(object_id),
                         st(SECRET_DATA, enum(SECRET_DATA_TYPE, 1),
                            key_block(material, 2, algorithm=False))], index)


def attributes(object_id, name, owner, index):
    payload = [uid(object_id),
               st(ATTRIBUTE, text(ATTRIBUTE_NAME, "Name"),
                  st(ATTRIBUTE_VALUE, text(NAME_VALUE, name), enum(NAME_TYPE, 1))),
               st(ATTRIBUTE, text(ATTRIBUTE_NAME, "State"), enum(ATTRIBUTE_VALUE, 2))]
    if owner is not None:
        payload.append(st(ATTRIBUTE, text(ATTRIBUTE_NAME, "Application Specific Information"),
                          st(ATTRIBUTE_VALUE, text(APPLICATION_NAMESPACE, "mysql-keyring-auth-id"),
                             text(APPLICATION_DATA, owner))))
    return success(GET_ATTRIBUTES, payload, index)


def session(flags, sizes, *answers):
    out = bytes([flags, sizes])
    for a in answers:
        out += struct.pack(">H", 0xFFFF) if a is None else struct.pack(">H", len(a)) + a
    return out


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 4096, (target, name, len(data))
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    aes_batch = response([get_symmetric("1", bytes(range(32)), 0),
                          attributes("1", "key_a", "root@localhost", 1)])
    secret_batch = response([get_secret("2", b"secret-bytes", 0),
                             attributes("2", "secret_b", None, 1)])

    r = "kmip_response"
    write(r, "discover_versions", discover((1, 4), (1, 3), (1, 2)))
    write(r, "locate", response([success(LOCATE, [integer(LOCATED_ITEMS, 2), uid("1"), uid("2")])]))
    write(r, "get_aes_with_attributes", aes_batch)
    write(r, "get_secret_with_attributes", secret_batch)
    write(r, "register", identified(REGISTER, "3"))
    write(r, "failure", response([failure(REVOKE, ITEM_NOT_FOUND, "no such object")]))
    write(r, "no_payload", response([st(BATCH_ITEM, enum(OPERATION, DESTROY), enum(RESULT_STATUS, 0))]))

    s = "keyring_session"
    # Generic server, KMIP 1.4: one AES and one SECRET key loaded, store, remove.
    write(s, "load_store_remove", session(
        0x00, 0x11, discover((1, 4)), locate("1"), aes_batch, locate("2"), secret_batch,
        identified(REGISTER, "3"), identified(ACTIVATE, "3"),
        identified(REVOKE, "3"), identified(DESTROY, "3")))
    # KMIP 1.0 server (refuses Discover Versions); Activate fails, so the Register is undone;
    # the object to remove is already gone.
    write(s, "kmip10_activate_fails", session(
        0x04, 0xFF,
        response([failure(DISCOVER_VERSIONS, OPERATION_NOT_SUPPORTED, "1.0 only")], 1, 0),
        locate(), locate(), identified(REGISTER, "7"),
        response([failure(ACTIVATE, PERMISSION_DENIED, "no")]), identified(DESTROY, "7"),
        response([failure(REVOKE, ITEM_NOT_FOUND, "gone")])))
    # Fortanix profile (unique names), second server after the first refuses, SECRET
    # generated; a timeout on the reused connection (the Locate is retried on a fresh one);
    # the name is taken; Revoke refused, Destroy goes ahead.
    write(s, "fortanix_name_taken", session(
        0x7B, 0x00, discover((1, 3)), locate(), None, discover((1, 3)), locate(), locate("9"),
        response([failure(REVOKE, PERMISSION_DENIED, "active")]), identified(DESTROY, "9")))
    # Paging with page size 1 and batches of one object.
    write(s, "paged_load", session(
        0x40, 0x00, discover((1, 4)), locate("1"), locate("2"), locate(),
        response([get_symmetric("1", b"\x01" * 16, 0), attributes("1", "k1", None, 1)]),
        response([get_symmetric("2", b"\x02" * 24, 0), attributes("2", "k2", "u@h", 1)]),
        locate(), identified(REGISTER, "5"), identified(ACTIVATE, "5")))

    base = {
        "server_addr": "kms.example.com",
        "server_port": "5696",
        "client_ca": "/etc/mysql/kmip/client.pem",
        "client_key": "/etc/mysql/kmip/client.key",
        "server_ca": "/etc/mysql/kmip/ca.pem",
        "object_group": "mysql",
        "kmip_timeout_ms": 3000,
    }
    c = "config"
    write(c, "valid", json.dumps(base, indent=2))
    write(c, "server_list", json.dumps(dict(base, server_addr=["kms1:5696", "kms2"])))
    write(c, "ipv6_and_options", json.dumps(dict(
        base, server_addr=["[fd00::1]:5697", "fd00::2"], tls_hostname_verification=False,
        guest_module="/usr/lib/mysql/plugin/guest.wasm", guest_sha256="ab" * 32,
        sandbox_memory_mb=128, sandbox_fuel_per_call=5_000_000)))
    write(c, "wrong_type", json.dumps(dict(base, server_port=5696)))


if __name__ == "__main__":
    main()
