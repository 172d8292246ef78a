#!/usr/bin/env python3
"""An independent verifier of Jaring evidence packages (.jrev).

Written from docs/evidence.md alone, to show that the format can be checked
without Jaring's code: it reads the layout, checks every item's SHA-256,
every identity card's self-signature, the manifest's signature, every
envelope's ed25519 signature over the DSSE pre-authentication encoding of
its exact body bytes (and that the signing key belongs to the body's
origin), and every audit entry's hash.

Usage: verify_jrev.py FILE
Exit status 0 when everything verifies; 1 and one line per failed item
otherwise. Needs the `cryptography` package (Ed25519).
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAGIC = b"JREV/1\n"
ENVELOPE_TYPE = "application/vnd.jaring.envelope.v1+protobuf"
EVIDENCE_TYPE = "application/vnd.jaring.evidence.v1+json"
CARD_TYPE = "application/vnd.jaring.identity.v1+json"
ENVELOPE_ITEMS = ("assertion", "feedback", "key_event")


def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def varint(buf, i):
    shift, value = 0, 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """Protobuf fields of a message: {number: last value} (bytes or int)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            out[number], i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            out[number] = buf[i : i + n]
            if len(out[number]) != n:
                raise ValueError("truncated field")
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("bad wire type")
    return out


def key_id(public):
    return "ed25519:" + hashlib.sha256(public).hexdigest()[:16]


def verify_sig(public, sig, message):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def main(path):
    data = open(path, "rb").read()
    if not data.startswith(MAGIC) or b"\n" not in data[len(MAGIC) :]:
        print("package: not a JREV/1 file")
        return 1
    rest = data[len(MAGIC) :]
    end = rest.index(b"\n")
    envelope, blobs = json.loads(rest[:end]), rest[end + 1 :]
    payload = base64.b64decode(envelope["payload"])
    manifest = json.loads(payload)
    items = manifest["items"]
    failed = {}

    offset = 0
    for it in items:
        b = blobs[it["offset"] : it["offset"] + it["length"]]
        if it["offset"] != offset or len(b) != it["length"] or hashlib.sha256(b).hexdigest() != it["sha256"]:
            failed.setdefault(it["name"], "SHA-256 or place does not match the manifest")
        offset = it["offset"] + it["length"]
        it["bytes"] = b
    if offset != len(blobs):
        failed.setdefault("package", "items do not fill the package")

    keys = {}  # key id -> (owner, public key bytes)
    for it in (i for i in items if i["type"] == "identity_card"):
        card_env = json.loads(it["bytes"])
        card_payload = base64.b64decode(card_env["payload"])
        card = json.loads(card_payload)
        listed = {}
        for k in card["signing_keys"]:
            public = bytes.fromhex(k["public_key_hex"])
            if key_id(public) != k["key_id"]:
                failed.setdefault(it["name"], "a key does not match its id")
            listed[k["key_id"]] = public
        if card_env["payloadType"] != CARD_TYPE or not any(
            s["keyid"] in listed and verify_sig(listed[s["keyid"]], base64.b64decode(s["sig"]), pae(CARD_TYPE, card_payload))
            for s in card_env["signatures"]
        ):
            failed.setdefault(it["name"], "card self-signature does not verify")
            continue
        if card["node_id"] != it["origin"]:
            failed.setdefault(it["name"], "card of another node")
        for kid, public in listed.items():
            keys[kid] = (card["node_id"], public)

    sig = envelope["signatures"][0]
    owner, public = keys.get(sig["keyid"], (None, None))
    if (
        envelope["payloadType"] != EVIDENCE_TYPE
        or owner != manifest["exported_by"]
        or not verify_sig(public, base64.b64decode(sig["sig"]), pae(EVIDENCE_TYPE, payload))
    ):
        failed.setdefault("manifest", "manifest signature does not verify")

    for it in (i for i in items if i["type"] in ENVELOPE_ITEMS):
        try:
            signed = fields(it["bytes"])
            body, signature, kid = signed[1], signed[2], signed[3].decode()
            head = fields(body)
            origin, origin_seq = head[1].decode(), head[2]
        except (KeyError, ValueError, IndexError, UnicodeDecodeError):
            failed.setdefault(it["name"], "envelope does not decode")
            continue
        owner, public = keys.get(kid, (None, None))
        if owner is None:
            # Introduced by a key event (not followed by this small verifier).
            failed.setdefault(it["name"], "signing key %s is on no card" % kid)
        elif owner != origin or origin != it["origin"] or origin_seq != it["seq"]:
            failed.setdefault(it["name"], "origin or sequence number does not match")
        elif not verify_sig(public, signature, pae(ENVELOPE_TYPE, body)):
            failed.setdefault(it["name"], "signature does not verify")

    for it in (i for i in items if i["type"] == "audit_entry"):
        try:
            entry = json.loads(it["bytes"])
            claimed = entry.pop("hash")
            canonical = json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()
            if hashlib.sha256(bytes.fromhex(entry["prev_hash"]) + canonical).hexdigest() != claimed:
                failed.setdefault(it["name"], "audit entry does not match its hash")
        except (ValueError, KeyError):
            failed.setdefault(it["name"], "audit entry does not decode")

    for name, why in failed.items():
        print("%s: FAILED: %s" % (name, why))
    if failed:
        return 1
    print("ok: %d items about %s %s, exported by %s" % (
        len(items), manifest["subject"]["kind"], manifest["subject"]["value"], manifest["exported_by"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
