"""Independent witness: reads objects from the KMIP server with PyKMIP's own client and
prints what it sees as JSON, so tests can check what the component left on the server.

usage: witness.py HOST PORT CERT KEY CA get UID...
       witness.py HOST PORT CERT KEY CA dump
           (every object the server holds, described as by get)
       witness.py HOST PORT CERT KEY CA register-aes NAME HEXKEY [GROUP]
       witness.py HOST PORT CERT KEY CA register-aes-preactive NAME HEXKEY
           (registered but never activated, as a store interrupted by a crash leaves it)
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")

from kmip.core import enums  # noqa: E402
from kmip.core.factories import attributes as attribute_factory  # noqa: E402
from kmip.pie import client as pie_client  # noqa: E402
from kmip.pie import objects  # noqa: E402


def describe(client, uid):
    obj = client.get(uid)
    attrs = client.get_attributes(
        uid, ["State", "Object Group", "Name", "Application Specific Information"]
    )[1]
    seen = {"uid": uid, "object_type": obj.object_type.name, "value_hex": obj.value.hex()}
    if isinstance(obj, objects.SymmetricKey):
        seen["algorithm"] = obj.cryptographic_algorithm.name
        seen["length"] = obj.cryptographic_length
    if isinstance(obj, objects.SecretData):
        seen["secret_data_type"] = obj.data_type.name
    names, groups, app_info = [], [], []
    for attr in attrs:
        name = attr.attribute_name.value
        value = attr.attribute_value
        if name == "State":
            seen["state"] = value.value.name
        elif name == "Object Group":
            groups.append(value.value)
        elif name == "Name":
            names.append(value.name_value.value)
        elif name == "Application Specific Information":
            app_info.append(
                [value.application_namespace, value.application_data]
            )
    seen["names"] = names
    seen["object_groups"] = groups
    seen["application_specific_information"] = app_info
    return seen


def main():
    host, port, cert, key, ca, command, *args = sys.argv[1:]
    client = pie_client.ProxyKmipClient(
        hostname=host, port=int(port), cert=cert, key=key, ca=ca,
        config_file="/dev/null",
    )
    with client:
        if command == "get":
            print(json.dumps([describe(client, uid) for uid in args]))
        elif command == "dump":
            print(json.dumps([describe(client, uid) for uid in client.locate()]))
        elif command == "locate":
            object_type = enums.ObjectType[args[0]]
            factory = attribute_factory.AttributeFactory()
            found = client.locate(
                attributes=[factory.create_attribute(enums.AttributeType.OBJECT_TYPE, object_type)]
            )
            print(json.dumps(found))
        elif command in ("register-aes", "register-aes-preactive"):
            name, hexkey = args[0], args[1]
            key_obj = objects.SymmetricKey(
                enums.CryptographicAlgorithm.AES,
                len(hexkey) * 4,
                bytes.fromhex(hexkey),
                [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT],
                name=name,
            )
            if len(args) > 2:
                key_obj.object_groups = [objects.ObjectGroup(args[2])] if hasattr(objects, "ObjectGroup") else []
            uid = client.register(key_obj)
            if command == "register-aes":
                client.activate(uid)
            print(json.dumps({"uid": uid}))
        else:
            raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    main()
