//! The `zkq` binary end to end, against snarkjs: proofs made by `zkq prove` verify with
//! `snarkjs groth16 verify`; snarkjs-made proofs verify with `zkq verify`; tampering fails in
//! both; `zkq zkey export-vk` equals snarkjs's export; bad input gets a one-line error naming
//! the file and a distinct exit code, and writes nothing.
//!
//! snarkjs comes from `tools/node` (pinned); `scripts/test.sh` installs it with `npm ci`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zkq_engine::fixtures::{Fixture, ALL, MULTI_PUBLIC, MUL_CHAIN_4K, POSEIDON_MERKLE};

mod process;

use process::{code, run, snarkjs, stderr, zkq};

fn snarkjs_verify(vk: &Path, public: &Path, proof: &Path) -> bool {
    let o = run(Command::new(snarkjs()).args(["groth16", "verify"]).arg(vk).arg(public).arg(proof));
    let out = String::from_utf8_lossy(&o.stdout);
    o.status.success() && out.contains("OK!")
}

fn prove(f: Fixture, dir: &Path) -> (PathBuf, PathBuf) {
    let (proof, public) = (dir.join(format!("{}.proof.json", f.name)), dir.join(format!("{}.public.json", f.name)));
    let o = zkq(&[&"prove", &f.zkey(), &f.wtns(), &proof, &public]);
    assert_eq!(code(&o), 0, "{}: zkq prove failed: {}", f.name, stderr(&o));
    (proof, public)
}

fn tamper_public(public: &Path, out: &Path) {
    let mut v: Vec<String> = serde_json::from_str(&std::fs::read_to_string(public).expect("read")).expect("json");
    let last = v.len() - 1;
    v[last] = if v[last] == "1" { "2".into() } else { "1".into() };
    std::fs::write(out, serde_json::to_string(&v).expect("json")).expect("write");
}

#[test]
fn zkq_proofs_verify_with_snarkjs_and_zkq_and_tampering_fails_in_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ALL {
        let (proof, public) = prove(f, dir.path());
        assert!(snarkjs_verify(&f.vk_json(), &public, &proof), "{}: snarkjs rejects zkq's proof", f.name);
        let o = zkq(&[&"verify", &f.vk_json(), &public, &proof]);
        assert_eq!(code(&o), 0, "{}: zkq verify: {}", f.name, stderr(&o));
        assert_eq!(std::fs::read(&public).expect("read"), std::fs::read(f.public_json()).expect("read"), "{}: public.json differs from snarkjs's", f.name);
        let bad = dir.path().join(format!("{}.bad.json", f.name));
        tamper_public(&public, &bad);
        assert!(!snarkjs_verify(&f.vk_json(), &bad, &proof), "{}: snarkjs accepts a tampered public input", f.name);
        let o = zkq(&[&"verify", &f.vk_json(), &bad, &proof]);
        assert_eq!(code(&o), 1, "{}: zkq verify of tampered input: {}", f.name, stderr(&o));
    }
}

#[test]
fn snarkjs_proofs_verify_with_zkq_and_tampering_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ALL {
        let o = zkq(&[&"verify", &f.vk_json(), &f.public_json(), &f.proof_json()]);
        assert_eq!(code(&o), 0, "{}: {}", f.name, stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("OK"));
        let bad = dir.path().join("bad.json");
        tamper_public(&f.public_json(), &bad);
        assert_eq!(code(&zkq(&[&"verify", &f.vk_json(), &bad, &f.proof_json()])), 1, "{}", f.name);
        let o = zkq(&[&"verify", &"--format", &"json", &f.vk_json(), &bad, &f.proof_json()]);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), r#"{"valid":false}"#);
    }
}

#[test]
fn export_vk_matches_snarkjs_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ALL {
        let ours = dir.path().join(format!("{}.vk.json", f.name));
        let o = zkq(&[&"zkey", &"export-vk", &f.zkey(), &ours]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let theirs = dir.path().join(format!("{}.snarkjs.vk.json", f.name));
        let o = run(Command::new(snarkjs()).args(["zkey", "export", "verificationkey"]).arg(f.zkey()).arg(&theirs));
        assert!(o.status.success(), "snarkjs export failed: {}", stderr(&o));
        let parse = |p: &Path| -> serde_json::Value { serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json") };
        assert_eq!(parse(&ours), parse(&theirs), "{}: exported keys differ", f.name);
    }
}

#[test]
fn zkey_info_text_and_json() {
    let o = zkq(&[&"zkey", &"info", &"--format", &"json", &MUL_CHAIN_4K.zkey()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["curve"], "bn128");
    assert_eq!(v["nVars"], 4203);
    assert_eq!(v["nPublic"], 2);
    assert_eq!(v["constraints"], 4200);
    assert_eq!(v["domainSize"], 8192);
    assert_eq!(v["sections"].as_array().map(Vec::len), Some(10));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
    let o = zkq(&[&"zkey", &"info", &POSEIDON_MERKLE.zkey()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("constraints:  3647") && text.contains("2^12"), "{text}");
}

#[test]
fn prove_batch_writes_verifying_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let w: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("w{i}.wtns"));
            std::fs::copy(MULTI_PUBLIC.wtns(), &p).expect("copy");
            p
        })
        .collect();
    let out = dir.path().join("out");
    let o = zkq(&[&"prove-batch", &MULTI_PUBLIC.zkey(), &"--out-dir", &out, &"--batch-size", &"2", &"--format", &"json", &w[0], &w[1], &w[2]]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["proofs"], 3);
    for i in 0..3 {
        let (proof, public) = (out.join(format!("w{i}.proof.json")), out.join(format!("w{i}.public.json")));
        assert_eq!(code(&zkq(&[&"verify", &MULTI_PUBLIC.vk_json(), &public, &proof])), 0);
    }
}

/// Runs a failing command and checks its exit code, that stderr is one line naming `needle`,
/// and that none of `must_not_exist` was written.
fn assert_fails(o: &Output, expected: i32, needle: &str, must_not_exist: &[&Path]) {
    let err = stderr(o);
    assert_eq!(code(o), expected, "wrong exit code; stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "error must be one line: {err:?}");
    assert!(err.starts_with("zkq: error: "), "{err}");
    assert!(err.contains(needle), "error should mention {needle:?}: {err}");
    for p in must_not_exist {
        assert!(!p.exists(), "{} was written despite the error", p.display());
    }
}

#[test]
fn bad_input_gets_one_line_errors_distinct_codes_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (proof, public) = (d.join("proof.json"), d.join("public.json"));
    let outs: [&Path; 2] = [&proof, &public];
    let f = MULTI_PUBLIC;

    // Missing file → 3.
    let missing = d.join("nope.zkey");
    assert_fails(&zkq(&[&"prove", &missing, &f.wtns(), &proof, &public]), 3, "nope.zkey", &outs);

    // Truncated zkey → 2.
    let bytes = std::fs::read(f.zkey()).expect("read");
    let truncated = d.join("truncated.zkey");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    assert_fails(&zkq(&[&"prove", &truncated, &f.wtns(), &proof, &public]), 2, "truncated.zkey", &outs);

    // Corrupt zkey (not a zkey at all) → 2.
    let garbage = d.join("garbage.zkey");
    std::fs::write(&garbage, b"this is not a zkey file at all").expect("write");
    assert_fails(&zkq(&[&"prove", &garbage, &f.wtns(), &proof, &public]), 2, "garbage.zkey", &outs);

    // Wrong-curve zkey: replace q (section 2, after n8q) with the BN254 scalar prime r.
    let wrong_curve = d.join("wrong_curve.zkey");
    std::fs::write(&wrong_curve, replace_zkey_q_with_r(&bytes)).expect("write");
    assert_fails(&zkq(&[&"prove", &wrong_curve, &f.wtns(), &proof, &public]), 2, "wrong curve", &outs);

    // Witness of another circuit (wrong length) → 2.
    assert_fails(&zkq(&[&"prove", &f.zkey(), &MUL_CHAIN_4K.wtns(), &proof, &public]), 2, "witness has 4203 values", &outs);

    // Witness with the wrong prime → 2.
    let mut w = std::fs::read(f.wtns()).expect("read");
    w[28] ^= 0x01; // inside the prime of section 1 (magic 4 + version 4 + n 4 + type 4 + size 8 + n8 4)
    let wrong_prime = d.join("wrong_prime.wtns");
    std::fs::write(&wrong_prime, &w).expect("write");
    assert_fails(&zkq(&[&"prove", &f.zkey(), &wrong_prime, &proof, &public]), 2, "wrong_prime.wtns", &outs);

    // A witness that does not satisfy the constraints → 4, nothing written.
    let mut witness = zkq_engine::Witness::read(&f.wtns()).expect("witness");
    let last = witness.values.len() - 1;
    witness.values[last] += ark_bn254_one();
    let unsat = d.join("unsatisfied.wtns");
    std::fs::write(&unsat, witness.to_wtns_bytes()).expect("write");
    assert_fails(&zkq(&[&"prove", &f.zkey(), &unsat, &proof, &public]), 4, "does not satisfy", &outs);

    // Backend unavailable here (no NVIDIA driver on the test machine) → 5.
    assert_fails(&zkq(&[&"prove", &"--backend", &"cuda", &f.zkey(), &f.wtns(), &proof, &public]), 5, "cuda", &outs);

    // verify: malformed JSON → 2; missing file → 3; wrong number of public signals → 2.
    let junk = d.join("junk.json");
    std::fs::write(&junk, b"{ not json").expect("write");
    assert_fails(&zkq(&[&"verify", &f.vk_json(), &f.public_json(), &junk]), 2, "junk.json", &[]);
    assert_fails(&zkq(&[&"verify", &f.vk_json(), &d.join("none.json"), &f.proof_json()]), 3, "none.json", &[]);
    assert_fails(&zkq(&[&"verify", &MUL_CHAIN_4K.vk_json(), &f.public_json(), &f.proof_json()]), 2, "public", &[]);
}

fn ark_bn254_one() -> ark_bn254::Fr {
    ark_bn254::Fr::from(1u64)
}

/// Rewrites the base-field prime in a zkey's section 2 to the scalar-field prime.
fn replace_zkey_q_with_r(zkey: &[u8]) -> Vec<u8> {
    let mut out = zkey.to_vec();
    let n_sections = u32::from_le_bytes(zkey[8..12].try_into().expect("4 bytes"));
    let mut pos = 12;
    for _ in 0..n_sections {
        let ty = u32::from_le_bytes(zkey[pos..pos + 4].try_into().expect("4 bytes"));
        let size = u64::from_le_bytes(zkey[pos + 4..pos + 12].try_into().expect("8 bytes")) as usize;
        if ty == 2 {
            let q_at = pos + 12 + 4;
            let r_at = q_at + 32 + 4;
            let r: Vec<u8> = zkey[r_at..r_at + 32].to_vec();
            out[q_at..q_at + 32].copy_from_slice(&r);
            return out;
        }
        pos += 12 + size;
    }
    panic!("no section 2");
}

/// `zkq sched synth` and `zkq sched simulate` (issue 5, point 6): a synthetic flood replays
/// through the fair scheduler with text and JSON reports; bad input gets a one-line error and a
/// distinct exit code (2 bad input, 3 missing file).
#[test]
fn sched_synth_and_simulate_report_and_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("flood.json");
    let o = zkq(&[&"sched", &"synth", &"--out", &trace, &"--burst", &"500", &"--duration-secs", &"5", &"--quiet-every-secs", &"0.5"]);
    assert_eq!(code(&o), 0, "synth: {}", stderr(&o));
    let o = zkq(&[&"sched", &"simulate", &"--trace", &trace, &"--max-batch", &"8", &"--max-wait-ms", &"20", &"--devices", &"cpu:4GiB"]);
    assert_eq!(code(&o), 0, "simulate: {}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in ["proofs/s", "UTILISATION", "cpu0", "Gini", "Jain", "floor", "P95_WAIT_MS", "t10"] {
        assert!(text.contains(needle), "the report shows {needle}:\n{text}");
    }
    assert!(text.contains("fairness over"), "backlogged windows on one device:\n{text}");
    // Two devices: twice the capacity, so the same load drains with the devices partly idle.
    let o = zkq(&[&"sched", &"simulate", &"--trace", &trace, &"--devices", &"cpu:4GiB,cuda:80GiB", &"--format", &"json"]);
    assert_eq!(code(&o), 0, "simulate json: {}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(report["tenants"].as_array().map(Vec::len), Some(10));
    assert_eq!(report["devices"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["devices"][1]["name"], "cuda1");
    assert!(report["devices"][1]["batches"].as_u64().is_some_and(|b| b > 0), "both devices take batches");

    let missing = dir.path().join("missing.json");
    let o = zkq(&[&"sched", &"simulate", &"--trace", &missing]);
    assert_eq!(code(&o), 3, "a missing trace: {}", stderr(&o));
    assert!(stderr(&o).contains("missing.json"));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 1, \"tenants\": [], \"circuits\": [], \"jobs\": [{\"at_ms\": 0, \"tenant\": \"x\", \"circuit\": \"c\"}]}").expect("write");
    let o = zkq(&[&"sched", &"simulate", &"--trace", &bad, &"--devices", &"cpu:1GiB"]);
    assert_eq!(code(&o), 2, "an inconsistent trace: {}", stderr(&o));
    assert!(stderr(&o).contains("jobs[0]: tenant `x`"), "{}", stderr(&o));
    let o = zkq(&[&"sched", &"simulate", &"--trace", &trace, &"--devices", &"tpu:1GiB"]);
    assert_eq!(code(&o), 2, "a bad device: {}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "one line: {}", stderr(&o));
    let o = zkq(&[&"sched", &"synth", &"--out", &dir.path().join("x.json"), &"--load", &"-1"]);
    assert_eq!(code(&o), 2, "a negative load: {}", stderr(&o));
    assert!(!dir.path().join("x.json").exists(), "nothing written");
}

/// With the service URLs (and their passwords) in the environment, `--help` names the
/// variables but never prints their values, and an error line about the database never carries
/// the password (issue 16, point 10).
#[test]
fn help_and_errors_never_print_the_service_passwords() {
    const AMQP_SECRET: &str = "amqp-Secret-4711";
    const PG_SECRET: &str = "pg-Secret-0815";
    let amqp = format!("amqp://zkq:{AMQP_SECRET}@127.0.0.1:1/%2f");
    // Nothing listens on port 1: commands that need the database fail at once.
    let pg = format!("host=127.0.0.1 port=1 user=zkq password={PG_SECRET} dbname=zkq connect_timeout=2");
    let with_env = |args: &[&str]| run(Command::new(process::ZKQ).args(args).env("ZKQ_AMQP_URL", &amqp).env("ZKQ_PG_URL", &pg));
    for sub in [&["worker", "--help"][..], &["submit", "--help"], &["jobs", "--help"], &["tenant", "add", "--help"]] {
        let o = with_env(sub);
        let out = String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o);
        assert_eq!(code(&o), 0, "zkq {sub:?}: {out}");
        assert!(out.contains("ZKQ_PG_URL") && out.contains("ZKQ_AMQP_URL"), "zkq {sub:?} names the variables: {out}");
        assert!(!out.contains(AMQP_SECRET) && !out.contains(PG_SECRET), "zkq {sub:?} prints a password:\n{out}");
    }
    // The same connection string in a URI, password in the userinfo and in the query.
    for pg in [pg.clone(), format!("postgres://zkq:{PG_SECRET}@127.0.0.1:1/zkq?connect_timeout=2&password={PG_SECRET}")] {
        let o = run(Command::new(process::ZKQ).args(["jobs", "--tenant", "acme", "--pg", &pg]).env("ZKQ_AMQP_URL", &amqp));
        let err = stderr(&o);
        assert_eq!(code(&o), 8, "an unreachable database is exit code 8: {err}");
        assert!(err.starts_with("zkq: error: "), "{err}");
        assert!(!err.contains(PG_SECRET) && !err.contains(AMQP_SECRET), "the error line prints a password: {err}");
    }
}
