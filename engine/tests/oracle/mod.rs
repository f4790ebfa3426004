//! ark-groth16's verifier as an independent oracle for zkq's proofs.

#![allow(dead_code, unreachable_pub)]

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use zkq_engine::{Proof, VerifyingKey};

/// Verifies with ark-groth16 (not zkq's verifier).
pub fn ark_verify(vk: &VerifyingKey, public: &[Fr], proof: &Proof) -> bool {
    let vk = ark_groth16::VerifyingKey::<Bn254> {
        alpha_g1: vk.alpha_g1,
        beta_g2: vk.beta_g2,
        gamma_g2: vk.gamma_g2,
        delta_g2: vk.delta_g2,
        gamma_abc_g1: vk.ic.clone(),
    };
    let pvk = ark_groth16::prepare_verifying_key(&vk);
    let proof = ark_groth16::Proof::<Bn254> { a: proof.a, b: proof.b, c: proof.c };
    Groth16::<Bn254>::verify_proof(&pvk, &proof, public).expect("ark verify")
}
