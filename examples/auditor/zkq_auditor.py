#!/usr/bin/env python3
"""zkq sample auditor: checks a proof's attestation offline, trusting nothing but the keys.

It links nothing of zkq: it speaks HTTP to `zkq serve` (docs/auditor-api.yaml) and re-implements
every check from the public specifications, so an auditor can read it in one sitting:

* DSSE v1 signatures over PAE(type, body)
  (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md), ed25519 (RFC 8032);
* in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
  with zkq's proof-result predicate: the proof's and public signals' sha256 digests as subjects;
* RFC 6962 §2.1 Merkle tree hashing (leaf 0x00, node 0x01) and the RFC 9162 §2.1.3.2 and
  §2.1.4.2 verification of inclusion and consistency proofs;
* C2SP tlog-checkpoint with a C2SP signed-note signature (https://c2sp.org/tlog-checkpoint,
  https://c2sp.org/signed-note).

Steps: get a token (OAuth 2.0 client credentials, RFC 6749 §4.4); fetch the keys, the job's
attestation, the latest checkpoint and the inclusion proof; verify all of it offline; with
`--previous-checkpoint`, also fetch the consistency proof from that older checkpoint (one saved
by an earlier run with `--save-checkpoint`) and verify the log only grew. `--tamper-check`
re-runs every offline check on altered copies (a flipped byte in the entry, the envelope's
signature, the checkpoint, the proof) and fails unless each alteration is caught.

Exit status: 0 all checks passed; 1 a check failed (the line says which); 2 usage or transport
error. Prints one line per check.
"""

import argparse
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://zkq.dev/attestations/proof-result/v1"
EM_DASH = "\u2014"


class CheckFailed(Exception):
    """An offline check failed: the data is not what zkq signed or logged."""


class Transport(Exception):
    """The server could not be asked (or refused)."""


# ---------------------------------------------------------------- HTTP


def http(method, url, headers=None, body=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")[:300]
        raise Transport(f"{method} {url}: HTTP {e.code}: {detail}") from None
    except urllib.error.URLError as e:
        raise Transport(f"{method} {url}: {e.reason}") from None


def token(base, client_id, secret, scope):
    basic = base64.b64encode(
        f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}".encode()
    ).decode()
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    answer = http(
        "POST",
        f"{base}/oauth/token",
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        body,
    )
    return answer["access_token"]


# ---------------------------------------------------------------- primitives


def b64d(text, what):
    try:
        return base64.b64decode(text, validate=True)
    except Exception:
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except Exception:
            raise CheckFailed(f"{what} is not base64") from None


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(entry):
    return sha256(b"\x00" + entry)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify_ed25519(public, message, signature, what):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        raise CheckFailed(f"{what}: the signature does not verify") from None
    except ValueError as e:
        raise CheckFailed(f"{what}: {e}") from None


# ---------------------------------------------------------------- checks


def keys_by_id(keys_doc):
    keys = {}
    for k in keys_doc["keys"]:
        public = bytes.fromhex(k["public_key_hex"])
        if hashlib.sha256(public).hexdigest()[:16] != k["kid"]:
            raise CheckFailed(f"key {k['kid']}: its id is not the first 8 bytes of sha256(public key)")
        keys[k["kid"]] = public
    return keys


def check_envelope(envelope, keys):
    """Verifies a DSSE envelope with any of `keys`; returns (payload bytes, key id)."""
    payload = b64d(envelope["payload"], "the envelope's payload")
    message = pae(envelope["payloadType"], payload)
    for sig in envelope.get("signatures", []):
        signature = b64d(sig["sig"], "a signature")
        for kid, public in keys.items():
            try:
                verify_ed25519(public, message, signature, "envelope")
                return payload, kid
            except CheckFailed:
                continue
    raise CheckFailed("envelope: no signature verifies with the published keys")


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(value):
    """RFC 8785 (JCS) for the values zkq hashes: sorted members, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_attestation(att, keys):
    entry = b64d(att["entry"], "the logged entry")
    if json.loads(entry) != att["envelope"]:
        raise CheckFailed("the logged entry is not the envelope served with it")
    payload, kid = check_envelope(json.loads(entry), keys)
    envelope = json.loads(entry)
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise CheckFailed(f"payload type {envelope['payloadType']!r}, expected {PAYLOAD_TYPE!r}")
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise CheckFailed("the statement is not an in-toto v1 statement of zkq's proof-result predicate")
    predicate = statement["predicate"]
    if predicate.get("job_id") != att["job_id"] or predicate.get("tenant") != att["tenant"]:
        raise CheckFailed("the statement names another job or tenant than the one asked for")
    digests = {s["name"]: s["digest"].get("sha256") for s in statement["subject"]}
    for name, value in (("proof.json", att["proof"]), ("public.json", att["public_signals"])):
        if digests.get(name) != hashlib.sha256(canonical(value)).hexdigest():
            raise CheckFailed(f"subject {name}: the served {name} does not have the attested sha256")
    return entry, statement, kid


def parse_checkpoint(note, keys):
    """Verifies a signed checkpoint; returns (origin, size, root)."""
    if "\n\n" not in note:
        raise CheckFailed("checkpoint: no blank line before the signatures")
    body, sigs = note.split("\n\n", 1)
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise CheckFailed("checkpoint: fewer than three lines")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckFailed(f"checkpoint: tree size {size_text!r} is not a canonical decimal")
    root = b64d(root_text, "checkpoint root")
    if len(root) != 32:
        raise CheckFailed("checkpoint: the root is not 32 bytes")
    for line in sigs.splitlines():
        if not line.startswith(EM_DASH + " "):
            raise CheckFailed("checkpoint: a signature line does not start with an em dash")
        try:
            name, blob = line[2:].rsplit(" ", 1)
        except ValueError:
            raise CheckFailed("checkpoint: a malformed signature line") from None
        raw = b64d(blob, "checkpoint signature")
        if len(raw) != 68:
            continue
        for public in keys.values():
            key_hash = sha256(name.encode() + b"\n\x01" + public)[:4]
            if key_hash != raw[:4]:
                continue
            verify_ed25519(public, body.encode(), raw[4:], "checkpoint")
            if name != origin:
                raise CheckFailed("checkpoint: signed by a key named other than the log's origin")
            return origin, int(size_text), root
    raise CheckFailed("checkpoint: no signature by a published key")


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        raise CheckFailed("inclusion: index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise CheckFailed("inclusion: the proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise CheckFailed("inclusion: the proof does not lead to the checkpoint's root")


def verify_consistency(first, second, first_root, second_root, proof):
    """RFC 9162 §2.1.4.2."""
    if first > second or first == 0:
        raise CheckFailed("consistency: sizes out of order")
    if first == second:
        if proof or first_root != second_root:
            raise CheckFailed("consistency: equal sizes with different roots or a non-empty proof")
        return
    if first & (first - 1) == 0:
        proof = [first_root] + list(proof)
    if not proof:
        raise CheckFailed("consistency: empty proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise CheckFailed("consistency: the proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise CheckFailed("consistency: the older checkpoint's tree is not a prefix of the newer one")


# ---------------------------------------------------------------- the audit


def offline_checks(data, keys, say):
    """Every check on already-fetched data; raises CheckFailed on the first failure."""
    entry, statement, kid = check_attestation(data["attestation"], keys)
    predicate = statement["predicate"]
    say(f"ok  attestation of job {predicate['job_id']} (tenant {predicate['tenant']}, circuit "
        f"{predicate['circuit']['id'][:16]}…) is signed by key {kid}; proof and public signals match its subjects")
    origin, size, root = parse_checkpoint(data["checkpoint"]["note"], keys)
    say(f"ok  checkpoint of {origin}: tree size {size}, signed by a published key")
    index = data["attestation"]["log_index"]
    hashes = [b64d(h, "proof hash") for h in data["inclusion"]["hashes"]]
    verify_inclusion(leaf_hash(entry), index, size, hashes, root)
    say(f"ok  entry {index} is included in the tree of size {size} ({len(hashes)} hashes)")
    if data.get("previous"):
        _, first, first_root = parse_checkpoint(data["previous"], keys)
        hashes = [b64d(h, "proof hash") for h in data["consistency"]["hashes"]]
        verify_consistency(first, size, first_root, root, hashes)
        say(f"ok  the tree of size {first} (previous checkpoint) is a prefix of the tree of size {size}")


def flip(text_or_bytes, at):
    if isinstance(text_or_bytes, str):
        raw = bytearray(text_or_bytes.encode())
        raw[at % len(raw)] ^= 0x01
        return raw.decode("utf-8", "replace")
    raw = bytearray(text_or_bytes)
    raw[at % len(raw)] ^= 0x01
    return bytes(raw)


def tamper_cases(data):
    """Altered copies of the fetched data, each of which a sound verifier must refuse."""
    att = data["attestation"]
    entry = base64.b64decode(att["entry"])

    def with_att(**changes):
        d = json.loads(json.dumps(data))
        d["attestation"].update(changes)
        return d

    envelope = json.loads(entry)
    payload = bytearray(base64.b64decode(envelope["payload"]))
    payload[len(payload) // 2] ^= 0x01
    forged = dict(envelope, payload=base64.b64encode(bytes(payload)).decode())
    forged_entry = compact(forged)
    sig = envelope["signatures"][0]
    bad_sig = dict(envelope, signatures=[dict(sig, sig=base64.b64encode(flip(base64.b64decode(sig["sig"]), 7)).decode())])
    yield "a byte of the statement changed", with_att(entry=base64.b64encode(forged_entry).decode(), envelope=forged)
    yield "the envelope's signature changed", with_att(entry=base64.b64encode(compact(bad_sig)).decode(), envelope=bad_sig)
    yield "a byte of the logged entry changed", with_att(entry=base64.b64encode(flip(entry, len(entry) // 3)).decode())
    yield "another proof served", with_att(proof={"pi_a": ["1", "2", "1"]})
    yield "another log index claimed", with_att(log_index=att["log_index"] + 1)
    note = data["checkpoint"]["note"]
    lines = note.split("\n")
    for i, what in ((1, "tree size"), (2, "root")):
        d = json.loads(json.dumps(data))
        changed = list(lines)
        changed[i] = flip(changed[i], 0) if i == 2 else str(int(changed[i]) + 1)
        d["checkpoint"]["note"] = "\n".join(changed)
        yield f"the checkpoint's {what} changed", d
    d = json.loads(json.dumps(data))
    d["checkpoint"]["note"] = note.replace(EM_DASH + " ", EM_DASH + " x", 1)
    yield "the checkpoint signed under another key name", d
    if data["inclusion"]["hashes"]:
        d = json.loads(json.dumps(data))
        h = base64.b64decode(d["inclusion"]["hashes"][0])
        d["inclusion"]["hashes"][0] = base64.b64encode(flip(h, 5)).decode()
        yield "an inclusion-proof hash changed", d
    if data.get("previous") and data["consistency"]["hashes"]:
        d = json.loads(json.dumps(data))
        h = base64.b64decode(d["consistency"]["hashes"][-1])
        d["consistency"]["hashes"][-1] = base64.b64encode(flip(h, 9)).decode()
        yield "a consistency-proof hash changed", d


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="zkq serve's base URL, e.g. http://127.0.0.1:8480")
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret-file", required=True, help="a file holding the client secret (never on the command line)")
    ap.add_argument("--job", required=True, help="the job whose proof to audit")
    ap.add_argument("--previous-checkpoint", help="a checkpoint note saved earlier: prove the log only grew since")
    ap.add_argument("--save-checkpoint", help="write the checkpoint verified now to this file")
    ap.add_argument("--tamper-check", action="store_true", help="also prove that altered data is refused")
    args = ap.parse_args(argv)
    base = args.url.rstrip("/")
    say = print
    try:
        with open(args.client_secret_file, encoding="utf-8") as f:
            secret = f.read().strip()
        bearer = {"Authorization": "Bearer " + token(base, args.client_id, secret, "audit:read")}
        say(f"ok  token for client {args.client_id} (scope audit:read)")
        keys = keys_by_id(http("GET", f"{base}/v1/keys", bearer))
        say(f"ok  {len(keys)} published key(s): {', '.join(sorted(keys))}")
        job = urllib.parse.quote(args.job, safe="")
        data = {"attestation": http("GET", f"{base}/v1/attestations/{job}", bearer)}
        data["checkpoint"] = http("GET", f"{base}/v1/log/checkpoint", bearer)
        size = data["checkpoint"]["tree_size"]
        index = data["attestation"]["log_index"]
        data["inclusion"] = http("GET", f"{base}/v1/log/proof/inclusion?index={index}&tree_size={size}", bearer)
        if args.previous_checkpoint:
            with open(args.previous_checkpoint, encoding="utf-8") as f:
                data["previous"] = f.read()
            first = int(data["previous"].split("\n")[1])
            data["consistency"] = http("GET", f"{base}/v1/log/proof/consistency?first={first}&second={size}", bearer)
    except (Transport, OSError, KeyError, ValueError) as e:
        print(f"zkq-auditor: {e}", file=sys.stderr)
        return 2
    say("--  everything below is checked offline, with the published keys only")
    try:
        offline_checks(data, keys, say)
    except CheckFailed as e:
        say(f"FAIL {e}")
        return 1
    if args.save_checkpoint:
        with open(args.save_checkpoint, "w", encoding="utf-8") as f:
            f.write(data["checkpoint"]["note"])
    if args.tamper_check:
        caught = 0
        for what, altered in tamper_cases(data):
            try:
                offline_checks(altered, keys, lambda _: None)
            except (CheckFailed, KeyError, ValueError, UnicodeDecodeError) as e:
                caught += 1
                say(f"ok  tampering refused: {what} ({e})")
                continue
            say(f"FAIL tampering not detected: {what}")
            return 1
        say(f"ok  all {caught} alterations were refused")
    say("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
