#!/usr/bin/env python3
"""A third-party zkq client, written from docs/job-protocol.md alone (pika + jsonschema).

It connects with a TENANT's own broker credentials (what `zkq tenant add --format json`
printed), publishes Groth16 proof jobs through the tenant's inbound exchange, receives every
result on an exclusive reply queue, validates each against docs/schemas/job-result.schema.json,
and checks every proof with `snarkjs groth16 verify`. Exit status 0 only when every job was
proved, every result is valid, and every proof verifies.

    python3 zkq_client.py --amqp-url URL --tenant acme --circuit sha256:<hex> \
        --witness witness.wtns --vk verification_key.json --jobs 4 \
        [--prefix zkq] [--schema ../../docs/schemas/job-result.schema.json] [--snarkjs snarkjs]

CI runs it against the real broker (api/tests/python_client.rs).
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

import jsonschema
import pika

PROTOCOL_VERSION = 1
PLAIN_NAME = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def tenant_suffix(tenant):
    """The suffix of a tenant's queue, exchange and user names (docs/job-protocol.md,
    "Topology"): the name itself when it is 1-128 characters of [A-Za-z0-9._:-] (ASCII),
    else "h-" and the first 32 hex digits of the sha256 of its UTF-8 bytes (lowercase)."""
    if PLAIN_NAME.match(tenant) and tenant.isascii():
        return tenant
    return "h-" + hashlib.sha256(tenant.encode("utf-8")).hexdigest()[:32]


def routing_key(tenant, priority):
    suffix = tenant_suffix(tenant)
    return f"tenant.{suffix}" if priority == 0 else f"p{min(priority, 9)}.tenant.{suffix}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amqp-url", required=True, help="the tenant's amqp_url")
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--circuit", required=True, help="sha256:<hex>, name@version or name")
    ap.add_argument("--witness", required=True, help="a .wtns file")
    ap.add_argument("--vk", required=True, help="the circuit's verification_key.json")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--priority", type=int, default=0)
    ap.add_argument("--prefix", default="zkq")
    ap.add_argument("--schema", default=os.path.join(os.path.dirname(__file__), "../../docs/schemas/job-result.schema.json"))
    ap.add_argument("--snarkjs", default="snarkjs")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()

    with open(args.schema) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    with open(args.witness, "rb") as f:
        witness = f.read()

    params = pika.URLParameters(args.amqp_url)
    user = urllib.parse.unquote(urllib.parse.urlparse(args.amqp_url).username or "")
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.confirm_delivery()
    # An exclusive, server-named reply queue (amq.gen-…): the only queues a tenant may declare.
    reply_queue = ch.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue

    exchange = f"{args.prefix}.in.{tenant_suffix(args.tenant)}"
    job_ids = []
    for _ in range(args.jobs):
        job_id = str(uuid.uuid4())
        headers = {
            "zkq-protocol": PROTOCOL_VERSION,
            "zkq-tenant": args.tenant,
            "zkq-circuit": args.circuit,
            "zkq-purpose": "python-example",
            "zkq-priority": args.priority,
            "zkq-submitted-at-ms": int(time.time() * 1000),
        }
        props = pika.BasicProperties(
            message_id=job_id,
            correlation_id=job_id,
            reply_to=reply_queue,
            user_id=user,
            delivery_mode=2,
            content_type="application/vnd.zkq.witness",
            headers=headers,
        )
        # With confirms on, a refused or unroutable (mandatory) publish raises: not submitted.
        ch.basic_publish(exchange=exchange, routing_key=routing_key(args.tenant, args.priority),
                         body=witness, properties=props, mandatory=True)
        job_ids.append(job_id)
    print(f"published {len(job_ids)} jobs to {exchange} as {user}")

    results = {}
    problems = []
    deadline = time.time() + args.timeout
    for method, props, body in ch.consume(reply_queue, auto_ack=True, inactivity_timeout=1.0):
        if method is not None:
            result = json.loads(body)
            errors = sorted(validator.iter_errors(result), key=lambda e: list(e.path))
            for e in errors:
                problems.append(f"result for {result.get('job_id')!r} breaks the schema at {list(e.path)}: {e.message}")
            if result.get("job_id") in job_ids:
                results.setdefault(result["job_id"], result)  # a result may arrive twice
        if len(results) == len(job_ids) or time.time() > deadline:
            break
    ch.cancel()
    conn.close()

    missing = [j for j in job_ids if j not in results]
    if missing:
        problems.append(f"{len(missing)} of {len(job_ids)} results missing after {args.timeout} s")
    with tempfile.TemporaryDirectory() as tmp:
        for job_id, result in results.items():
            if result["status"] != "proved":
                problems.append(f"job {job_id} failed: {result.get('code')}: {result.get('reason')}")
                continue
            if result["tenant"] != args.tenant:
                problems.append(f"job {job_id} came back for tenant {result['tenant']!r}")
            proof, public = os.path.join(tmp, "proof.json"), os.path.join(tmp, "public.json")
            with open(proof, "w") as f:
                json.dump(result["proof"], f)
            with open(public, "w") as f:
                json.dump(result["public_signals"], f)
            check = subprocess.run([args.snarkjs, "groth16", "verify", args.vk, public, proof], capture_output=True, text=True)
            if check.returncode != 0 or "OK" not in check.stdout:
                problems.append(f"snarkjs rejects the proof of {job_id}: {check.stdout.strip()} {check.stderr.strip()}")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    print(f"{len(results)} results, {sum(r['status'] == 'proved' for r in results.values())} proved and verified by snarkjs, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
