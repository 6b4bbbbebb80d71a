# PyKMIP's own Python client against the same PyKMIP: store, generate, remove and a load; prints one JSON line (run by python_reference.rs).
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
from kmip.core import enums
from kmip.core.factories import attributes as attribute_factory
from kmip.pie import client as pie_client
from kmip.pie import objects

host, port, cert, key, ca, iterations, loads = sys.argv[1:8]
iterations = int(iterations)
client = pie_client.ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca, config_file="/dev/null")
mask = [enums.CryptographicUsageMask.ENCRYPT, enums.CryptographicUsageMask.DECRYPT]
out = {"store": [], "generate": [], "remove": [], "load": {}}
def register(name, material):
    uid = client.register(objects.SymmetricKey(enums.CryptographicAlgorithm.AES, 256, material, mask, name=name))
    client.activate(uid)
    return uid
def remove(uid):
    client.revoke(enums.RevocationReasonCode.UNSPECIFIED, uid, revocation_message="Deleting the key")
    client.destroy(uid)
with client:
    for i in range(iterations + 5):
        t = time.perf_counter(); a = register("py-s-%d" % i, b"\x42" * 32); store = time.perf_counter() - t
        t = time.perf_counter(); b = register("py-g-%d" % i, os.urandom(32)); generate = time.perf_counter() - t
        t = time.perf_counter(); remove(a); ra = time.perf_counter() - t
        t = time.perf_counter(); remove(b); rb = time.perf_counter() - t
        if i >= 5:
            out["store"].append(store); out["generate"].append(generate); out["remove"] += [ra, rb]
    if loads:
        factory = attribute_factory.AttributeFactory()
        t = time.perf_counter()
        uids = client.locate(attributes=[factory.create_attribute(enums.AttributeType.OBJECT_TYPE, enums.ObjectType.SYMMETRIC_KEY)])
        for uid in uids:
            client.get(uid)
            client.get_attributes(uid, ["Name", "State", "Application Specific Information"])
        out["load"][str(len(uids))] = time.perf_counter() - t
print(json.dumps(out))
