//! The insecure dev setup over every committed circom fixture: the key it makes from the
//! fixture's r1cs has snarkjs's shape and byte-identical section 4, zkq proofs with it verify
//! (zkq and ark-groth16), an unsatisfying witness gives a proof that does not, and a seed
//! reproduces a key exactly. Interoperability with snarkjs itself is checked in
//! `api/tests/dev_setup.rs`.

mod oracle;
use oracle::ark_verify;

use ark_bn254::Fr;
use ark_ff::One;
use zkq_engine::binfile::BinFile;
use zkq_engine::fixtures::{ALL, MULTI_PUBLIC};
use zkq_engine::prover::Randomness;
use zkq_engine::r1cs::R1cs;
use zkq_engine::setup::{dev_setup, write_zkey, SetupShape, ToxicWaste};
use zkq_engine::{zkey, Prover, Witness};
use zkq_kernels::{open_backend, BackendConfig};

fn prover() -> Prover {
    Prover::new(open_backend(&BackendConfig { cpu_threads: Some(2), ..Default::default() }).expect("cpu backend"))
}


fn section(bytes: &[u8], id: u32) -> Vec<u8> {
    BinFile::parse("zkey", bytes, b"zkey").expect("container").section(id).expect("section").to_vec()
}

#[test]
fn dev_keys_prove_and_verify_for_every_fixture() {
    let prover = prover();
    for f in ALL {
        let r1cs = R1cs::read(&f.r1cs()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let bytes = dev_setup(&r1cs, &ToxicWaste::from_seed(f.name.as_bytes())).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let pk = zkey::parse_proving_key(f.name, &bytes).unwrap_or_else(|e| panic!("{}: {e}", f.name));

        // Same shape as snarkjs's key of the same r1cs, and the same section 4 bytes.
        let theirs = zkey::read_proving_key(&f.zkey()).expect("fixture zkey");
        assert_eq!(
            (pk.n_vars, pk.n_public, pk.domain_size, pk.n_constraints),
            (theirs.n_vars, theirs.n_public, theirs.domain_size, theirs.n_constraints),
            "{}: shape differs from snarkjs's",
            f.name
        );
        let shape = SetupShape::of(&r1cs).expect("shape");
        assert_eq!((shape.n_vars, shape.domain_size), (pk.n_vars, pk.domain_size));
        let fixture_bytes = std::fs::read(f.zkey()).expect("read fixture zkey");
        assert!(section(&bytes, 4) == section(&fixture_bytes, 4), "{}: section 4 differs from snarkjs's", f.name);
        let table = |b: &[u8]| BinFile::parse("z", b, b"zkey").expect("container").section_table();
        let sizes = |t: Vec<(u32, u64)>| {
            let mut t: Vec<_> = t.into_iter().filter(|(id, _)| *id != 10).collect();
            t.sort();
            t
        };
        assert_eq!(sizes(table(&bytes)), sizes(table(&fixture_bytes)), "{}: section sizes differ", f.name);

        let w = Witness::read(&f.wtns()).expect("witness");
        let rs = [Randomness::from_os().expect("rng"), Randomness { r: Fr::from(3u64), s: Fr::from(5u64) }];
        let out = prover.prove_batch_with_randomness(&pk, &[w.clone(), w.clone()], &rs).expect("prove");
        for proof in &out.proofs {
            assert!(zkq_engine::verify(&pk.vk, &out.public_signals[0], proof).expect("verify"), "{}: zkq rejects", f.name);
            assert!(ark_verify(&pk.vk, &out.public_signals[0], proof), "{}: ark-groth16 rejects", f.name);
        }
        let mut bad_public = out.public_signals[0].clone();
        bad_public[0] += Fr::one();
        assert!(!zkq_engine::verify(&pk.vk, &bad_public, &out.proofs[0]).expect("verify"), "{}: tampered public accepted", f.name);
        // The fixture's (snarkjs) key is a different key: its verifier must reject our proof.
        assert!(!zkq_engine::verify(&theirs.vk, &out.public_signals[0], &out.proofs[0]).expect("verify"));

        // A witness that does not satisfy the circuit gives a proof that does not verify.
        let mut unsat = w.clone();
        let last = unsat.values.len() - 1;
        unsat.values[last] += Fr::one();
        assert!(r1cs.check_satisfied(&unsat.values).is_err());
        let out = prover.prove_batch(&pk, std::slice::from_ref(&unsat)).expect("prove");
        assert!(!zkq_engine::verify(&pk.vk, &out.public_signals[0], &out.proofs[0]).expect("verify"), "{}: unsatisfied witness verified", f.name);
    }
}

#[test]
fn a_seed_reproduces_the_key_and_the_os_rng_does_not() {
    let r1cs = R1cs::read(&MULTI_PUBLIC.r1cs()).expect("r1cs");
    let seeded = |s: &[u8]| dev_setup(&r1cs, &ToxicWaste::from_seed(s)).expect("setup");
    assert!(seeded(b"one") == seeded(b"one"));
    assert!(seeded(b"one") != seeded(b"two"));
    let os = |_| dev_setup(&r1cs, &ToxicWaste::from_os().expect("rng")).expect("setup");
    let (a, b) = (os(0), os(1));
    assert!(a != b);
    assert_eq!(section(&a, 4), section(&b, 4));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dev.zkey");
    let shape = write_zkey(&path, &r1cs, &ToxicWaste::from_seed(b"one")).expect("write");
    assert_eq!(shape.n_public, 7);
    assert!(std::fs::read(&path).expect("read") == seeded(b"one"));
    let listing: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(listing.len(), 1, "temporary files left behind: {listing:?}");
}
