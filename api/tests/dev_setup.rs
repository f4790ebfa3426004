//! `zkq dev setup` against snarkjs, for every committed fixture: the dev key made from the
//! fixture's r1cs proves with `zkq prove` and with `snarkjs groth16 prove`; each proof verifies
//! with `zkq verify` and `snarkjs groth16 verify`; `zkq zkey export-vk` equals `snarkjs zkey
//! export verificationkey` of the same key; a witness that does not satisfy the circuit gives
//! a snarkjs proof that neither verifier accepts. Plus the command's own contract: an INSECURE
//! warning, a summary, reproducible seeds, one-line errors with the usual exit codes.
//!
//! snarkjs comes from `tools/node` (pinned); `scripts/test.sh` installs it with `npm ci`.

use std::path::Path;
use std::process::{Command, Output};

use zkq_engine::fixtures::{ALL, MULTI_PUBLIC};

mod process;

use process::{code, run, snarkjs, stderr, zkq, ZKQ};

fn snarkjs_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let o = run(Command::new(snarkjs()).args(args.iter().map(|a| a.as_ref())));
    assert!(o.status.success(), "snarkjs {:?} failed: {}{}", args.iter().map(|a| a.as_ref().to_owned()).collect::<Vec<_>>(), String::from_utf8_lossy(&o.stdout), stderr(&o));
    o
}

fn snarkjs_verify(vk: &Path, public: &Path, proof: &Path) -> bool {
    let o = run(Command::new(snarkjs()).args(["groth16", "verify"]).arg(vk).arg(public).arg(proof));
    o.status.success() && String::from_utf8_lossy(&o.stdout).contains("OK!")
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

fn dev_setup(r1cs: &Path, zkey: &Path, seed: Option<&str>) -> Output {
    let o = match seed {
        Some(s) => zkq(&[&"dev", &"setup", &r1cs, &zkey, &"--seed", &s]),
        None => zkq(&[&"dev", &"setup", &r1cs, &zkey]),
    };
    assert_eq!(code(&o), 0, "zkq dev setup {}: {}", r1cs.display(), stderr(&o));
    o
}

#[test]
fn dev_keys_interoperate_with_snarkjs_for_every_fixture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for f in ALL {
        let p = |suffix: &str| d.join(format!("{}.{suffix}", f.name));
        let zkey = p("zkey");
        dev_setup(&f.r1cs(), &zkey, Some("00c0ffee"));

        // Verification keys: ours equals snarkjs's export of our zkey.
        let (vk, vk_snarkjs) = (p("vk.json"), p("vk.snarkjs.json"));
        let o = zkq(&[&"zkey", &"export-vk", &zkey, &vk]);
        assert_eq!(code(&o), 0, "{}: {}", f.name, stderr(&o));
        snarkjs_ok(&[&"zkey", &"export", &"verificationkey", &zkey, &vk_snarkjs]);
        assert_eq!(json(&vk), json(&vk_snarkjs), "{}: exported verification keys differ", f.name);
        assert_ne!(json(&vk), json(&f.vk_json()), "{}: the dev key must not equal the fixture's", f.name);

        // zkq proves → both verify.
        let (proof, public) = (p("proof.json"), p("public.json"));
        let o = zkq(&[&"prove", &zkey, &f.wtns(), &proof, &public]);
        assert_eq!(code(&o), 0, "{}: zkq prove: {}", f.name, stderr(&o));
        assert_eq!(json(&public), json(&f.public_json()), "{}: public signals differ", f.name);
        assert!(snarkjs_verify(&vk_snarkjs, &public, &proof), "{}: snarkjs rejects zkq's proof with the dev key", f.name);
        assert_eq!(code(&zkq(&[&"verify", &vk, &public, &proof])), 0, "{}: zkq rejects its own proof", f.name);
        assert!(!snarkjs_verify(&f.vk_json(), &public, &proof), "{}: the fixture's key accepts a dev-key proof", f.name);

        // snarkjs proves with our zkey → both verify.
        let (sproof, spublic) = (p("snarkjs.proof.json"), p("snarkjs.public.json"));
        snarkjs_ok(&[&"groth16", &"prove", &zkey, &f.wtns(), &sproof, &spublic]);
        let o = zkq(&[&"verify", &vk, &spublic, &sproof]);
        assert_eq!(code(&o), 0, "{}: zkq rejects snarkjs's proof with the dev key: {}", f.name, String::from_utf8_lossy(&o.stdout));
        assert!(snarkjs_verify(&vk_snarkjs, &spublic, &sproof), "{}: snarkjs rejects its own proof with the dev key", f.name);
    }
}

#[test]
fn unsatisfying_witness_gives_a_proof_nobody_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let f = MULTI_PUBLIC;
    let (zkey, vk) = (d.join("dev.zkey"), d.join("vk.json"));
    dev_setup(&f.r1cs(), &zkey, None);
    assert_eq!(code(&zkq(&[&"zkey", &"export-vk", &zkey, &vk])), 0);
    let mut w = zkq_engine::Witness::read(&f.wtns()).expect("witness");
    let last = w.values.len() - 1;
    w.values[last] += ark_bn254::Fr::from(1u64);
    let unsat = d.join("unsat.wtns");
    std::fs::write(&unsat, w.to_wtns_bytes()).expect("write");
    // zkq refuses (exit 4) and writes nothing.
    let (proof, public) = (d.join("proof.json"), d.join("public.json"));
    assert_eq!(code(&zkq(&[&"prove", &zkey, &unsat, &proof, &public])), 4);
    assert!(!proof.exists());
    // snarkjs proves anyway; neither verifier accepts the result.
    snarkjs_ok(&[&"groth16", &"prove", &zkey, &unsat, &proof, &public]);
    assert!(!snarkjs_verify(&vk, &public, &proof), "snarkjs accepts a proof of an unsatisfied witness");
    assert_eq!(code(&zkq(&[&"verify", &vk, &public, &proof])), 1, "zkq accepts a proof of an unsatisfied witness");
}

#[test]
fn warning_summary_seeds_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let r1cs = MULTI_PUBLIC.r1cs();
    let (a, b, c) = (d.join("a.zkey"), d.join("b.zkey"), d.join("c.zkey"));

    let o = dev_setup(&r1cs, &a, Some("0x01"));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "one warning line: {err:?}");
    assert!(err.contains("WARNING: INSECURE") && err.contains("--seed"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("nVars 46") && out.contains("nPublic 7") && out.contains("constraints 39") && out.contains("2^6"), "{out}");

    // Same seed → same bytes; no seed → OS randomness, a different key.
    dev_setup(&r1cs, &b, Some("01"));
    assert!(std::fs::read(&a).expect("read") == std::fs::read(&b).expect("read"));
    let o = zkq(&[&"dev", &"setup", &"--format", &"json", &r1cs, &c]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("INSECURE"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!((v["insecure"].as_bool(), v["seeded"].as_bool(), v["domainSize"].as_u64()), (Some(true), Some(false), Some(64)));
    assert!(std::fs::read(&a).expect("read") != std::fs::read(&c).expect("read"));

    // Errors: one line, exit code by class, nothing written.
    let out = d.join("never.zkey");
    for (args, expected, needle) in [
        (vec![r1cs.clone().into_os_string(), out.clone().into(), "--seed".into(), "xyz".into()], 2, "--seed"),
        (vec![r1cs.clone().into_os_string(), out.clone().into(), "--seed".into(), "".into()], 2, "--seed"),
        (vec![d.join("missing.r1cs").into_os_string(), out.clone().into()], 3, "missing.r1cs"),
        (vec![MULTI_PUBLIC.zkey().into_os_string(), out.clone().into()], 2, "circuit.zkey"),
        (vec![r1cs.clone().into_os_string(), d.join("no/such/dir/x.zkey").into_os_string()], 3, "x.zkey"),
    ] {
        let o = run(Command::new(ZKQ).args(["dev", "setup"]).args(&args));
        let err = stderr(&o);
        assert_eq!(code(&o), expected, "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: error must be one line: {err:?}");
        assert!(err.starts_with("zkq: error: ") && err.contains(needle), "{args:?}: {err}");
        assert!(!out.exists());
    }
}
