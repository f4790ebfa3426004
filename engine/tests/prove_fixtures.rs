//! End to end over every committed circom fixture: prove with zkq, verify with zkq and with
//! ark-groth16's independent verifier; verify snarkjs-made proofs; check that tampering fails
//! and that the exported verifying key equals snarkjs's.


mod oracle;
use oracle::ark_verify;

use ark_bn254::Fr;
use ark_ff::{One, UniformRand};
use zkq_engine::fixtures::{Fixture, ALL, MULTI_PUBLIC};
use zkq_engine::prover::Randomness;
use zkq_engine::r1cs::R1cs;
use zkq_engine::{json, zkey, EngineError, Prover, ProvingKey, Witness};
use zkq_kernels::{BackendConfig, open_backend};

fn prover() -> Prover {
    Prover::new(open_backend(&BackendConfig { cpu_threads: Some(2), ..Default::default() }).expect("cpu backend"))
}

fn load(f: Fixture) -> (ProvingKey, Witness) {
    let pk = zkey::read_proving_key(&f.zkey()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
    let w = Witness::read(&f.wtns()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
    (pk, w)
}


#[test]
fn zkq_proofs_verify_with_zkq_and_arkworks_and_tampering_fails() {
    let prover = prover();
    for f in ALL {
        let (pk, w) = load(f);
        // A batch of three: two with OS randomness, one reproducible.
        let mut rng = ark_std::test_rng();
        let rs = vec![
            Randomness::from_os().expect("os rng"),
            Randomness::from_os().expect("os rng"),
            Randomness { r: Fr::rand(&mut rng), s: Fr::rand(&mut rng) },
        ];
        let batch = vec![w.clone(), w.clone(), w.clone()];
        let out = prover.prove_batch_with_randomness(&pk, &batch, &rs).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(out.proofs.len(), 3);
        assert_ne!(out.proofs[0], out.proofs[1], "{}: fresh randomness must give distinct proofs", f.name);
        let public = &out.public_signals[0];
        assert_eq!(public.len(), pk.n_public);
        for (k, proof) in out.proofs.iter().enumerate() {
            assert!(zkq_engine::verify(&pk.vk, public, proof).expect("verify"), "{} proof {k}: zkq rejects", f.name);
            assert!(ark_verify(&pk.vk, public, proof), "{} proof {k}: ark-groth16 rejects", f.name);
        }
        // Tampered public input.
        let mut bad = public.clone();
        bad[0] += Fr::one();
        assert!(!zkq_engine::verify(&pk.vk, &bad, &out.proofs[0]).expect("verify"), "{}: tampered public accepted", f.name);
        assert!(!ark_verify(&pk.vk, &bad, &out.proofs[0]), "{}: ark accepts tampered public", f.name);
        // Swapped proof components.
        let mut swapped = out.proofs[0];
        swapped.c = out.proofs[1].c;
        assert!(!zkq_engine::verify(&pk.vk, public, &swapped).expect("verify"), "{}: mixed proof accepted", f.name);
        // Deterministic entry point: same (r, s) → same proof.
        let again = prover.prove_batch_with_randomness(&pk, &batch[..1], &rs[2..]).expect("prove");
        assert_eq!(again.proofs[0], out.proofs[2], "{}: explicit randomness must be reproducible", f.name);
        assert!(out.timings.total() > std::time::Duration::ZERO);
    }
}

#[test]
fn snarkjs_proofs_verify_with_zkq_and_public_json_matches_witness() {
    for f in ALL {
        let vk = json::read_verifying_key(&f.vk_json()).expect("vk json");
        let proof = json::read_proof(&f.proof_json()).expect("proof json");
        let public = json::read_public(&f.public_json()).expect("public json");
        assert!(zkq_engine::verify(&vk, &public, &proof).expect("verify"), "{}: snarkjs proof rejected", f.name);
        let mut bad = public.clone();
        bad[public.len() - 1] += Fr::one();
        assert!(!zkq_engine::verify(&vk, &bad, &proof).expect("verify"), "{}: tampered snarkjs proof accepted", f.name);
        let (pk, w) = load(f);
        assert_eq!(w.public_signals(pk.n_public), public.as_slice(), "{}: public.json ≠ witness[1..=nPublic]", f.name);
    }
}

#[test]
fn exported_verifying_key_equals_snarkjs_export() {
    for f in ALL {
        let vk = zkey::read_verifying_key(&f.zkey()).expect("zkey vk");
        let ours = json::verifying_key_to_json(&vk);
        let text = std::fs::read_to_string(f.vk_json()).expect("read vk json");
        let theirs: serde_json::Value = serde_json::from_str(&text).expect("parse vk json");
        assert_eq!(ours, theirs, "{}: exported verifying key differs from snarkjs's", f.name);
        assert_eq!(json::to_snarkjs_string(&ours).trim_end(), text.trim_end(), "{}: formatting differs", f.name);
    }
}

#[test]
fn zkey_agrees_with_r1cs_and_witness_satisfies_it() {
    for f in ALL {
        let (pk, w) = load(f);
        let r1cs = R1cs::read(&f.r1cs()).expect("r1cs");
        assert_eq!(r1cs.n_wires, pk.n_vars, "{}", f.name);
        assert_eq!(r1cs.n_public(), pk.n_public, "{}", f.name);
        assert_eq!(r1cs.constraints.len(), pk.n_constraints, "{}", f.name);
        assert_eq!(r1cs.check_satisfied(&w.values), Ok(()), "{}", f.name);
        let info = zkey::info(&f.zkey()).expect("info");
        assert_eq!((info.n_vars, info.n_public, info.domain_size), (pk.n_vars, pk.n_public, pk.domain_size));
        assert_eq!(info.sha256.len(), 64);
        assert_eq!(info.sections.len(), 10);
    }
}

#[test]
fn unsatisfying_witness_never_yields_a_valid_proof() {
    let prover = prover();
    for f in ALL {
        let (pk, mut w) = load(f);
        let r1cs = R1cs::read(&f.r1cs()).expect("r1cs");
        // Change the last private signal: the witness no longer satisfies the circuit.
        let last = w.values.len() - 1;
        w.values[last] += Fr::one();
        assert!(r1cs.check_satisfied(&w.values).is_err(), "{}: mutated witness still satisfies", f.name);
        let out = prover.prove_batch(&pk, std::slice::from_ref(&w)).expect("proving itself succeeds");
        let public = &out.public_signals[0];
        assert!(!zkq_engine::verify(&pk.vk, public, &out.proofs[0]).expect("verify"), "{}: bad witness verified", f.name);
    }
}

#[test]
fn witness_shape_errors_are_typed() {
    let prover = prover();
    let (pk, w) = load(MULTI_PUBLIC);
    let mut short = w.clone();
    short.values.pop();
    match prover.prove_batch(&pk, &[short]) {
        Err(EngineError::WitnessLength { expected, found, .. }) => assert_eq!((expected, found), (pk.n_vars, pk.n_vars - 1)),
        other => panic!("expected WitnessLength, got {other:?}"),
    }
    let mut no_one = w.clone();
    no_one.values[0] = Fr::from(2u64);
    assert!(matches!(prover.prove_batch(&pk, &[no_one]), Err(EngineError::Format { .. })));
}
