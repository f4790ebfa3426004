//! The committed circom fixtures (feature `fixtures`), named as constants. Regenerate them with
//! `fixtures/regenerate.sh`; `fixtures/README.md` describes each.

use std::path::PathBuf;

/// A fixture circuit directory under `fixtures/circuits/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    /// Directory name.
    pub name: &'static str,
}

/// 39 constraints, 3 public inputs and 4 outputs (nPublic 7), domain 2^6.
pub const MULTI_PUBLIC: Fixture = Fixture { name: "multi_public" };
/// 3,647 constraints: a depth-7 Merkle inclusion proof with circomlib's Poseidon, domain 2^12.
pub const POSEIDON_MERKLE: Fixture = Fixture { name: "poseidon_merkle" };
/// 4,200 multiplication constraints, domain 2^13.
pub const MUL_CHAIN_4K: Fixture = Fixture { name: "mul_chain_4k" };
/// Every fixture, smallest first.
pub const ALL: [Fixture; 3] = [MULTI_PUBLIC, POSEIDON_MERKLE, MUL_CHAIN_4K];

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl Fixture {
    /// Directory of this fixture.
    pub fn dir(&self) -> PathBuf {
        repo_root().join("fixtures/circuits").join(self.name)
    }
    /// The final (contributed) proving key.
    pub fn zkey(&self) -> PathBuf {
        self.dir().join("circuit.zkey")
    }
    /// The witness computed by snarkjs from `input.json`.
    pub fn wtns(&self) -> PathBuf {
        self.dir().join("witness.wtns")
    }
    /// The constraint system.
    pub fn r1cs(&self) -> PathBuf {
        self.dir().join("circuit.r1cs")
    }
    /// snarkjs's exported verification key.
    pub fn vk_json(&self) -> PathBuf {
        self.dir().join("verification_key.json")
    }
    /// A proof made by snarkjs.
    pub fn proof_json(&self) -> PathBuf {
        self.dir().join("proof.json")
    }
    /// The public signals of that proof.
    pub fn public_json(&self) -> PathBuf {
        self.dir().join("public.json")
    }
}
