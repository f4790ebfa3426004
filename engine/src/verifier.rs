//! The Groth16 verifier: `e(A, B) = e(α, β) · e(Σ x_i·IC_i, γ) · e(C, δ)` (Groth 2016, §3.2),
//! checked as one multi-Miller loop and one final exponentiation against a precomputed
//! `e(α, β)`. A wrong proof is `Ok(false)`; malformed input (wrong number of public signals)
//! is `Err`.

use ark_bn254::{Bn254, Fr, G1Projective, G2Affine};
use ark_ec::bn::G2Prepared;
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup};

use crate::keys::{Proof, VerifyingKey};
use crate::EngineError;

/// A verifying key with its pairing-side precomputation done once.
#[derive(Debug, Clone)]
pub struct PreparedVerifyingKey {
    /// The key.
    pub vk: VerifyingKey,
    /// `e(α, β)`.
    pub alpha_beta: PairingOutput<Bn254>,
    gamma_neg: G2Prepared<ark_bn254::Config>,
    delta_neg: G2Prepared<ark_bn254::Config>,
}

impl PreparedVerifyingKey {
    /// Precomputes `e(α, β)` and the line functions of `−γ`, `−δ`.
    pub fn new(vk: &VerifyingKey) -> Self {
        let neg = |p: G2Affine| G2Prepared::from((-p.into_group()).into_affine());
        Self {
            vk: vk.clone(),
            alpha_beta: Bn254::pairing(vk.alpha_g1, vk.beta_g2),
            gamma_neg: neg(vk.gamma_g2),
            delta_neg: neg(vk.delta_g2),
        }
    }

    /// Checks `proof` against `public` (the public signals, without the constant 1).
    pub fn verify(&self, public: &[Fr], proof: &Proof) -> Result<bool, EngineError> {
        let n = self.vk.n_public();
        if public.len() != n {
            return Err(EngineError::format(
                "public signals",
                format!("{} public signals given, the verification key expects {n}", public.len()),
            ));
        }
        let Some(ic0) = self.vk.ic.first() else {
            return Err(EngineError::format("verification key", "IC is empty"));
        };
        let mut acc: G1Projective = ic0.into_group();
        for (x, ic) in public.iter().zip(&self.vk.ic[1..]) {
            acc += *ic * x;
        }
        let ml = Bn254::multi_miller_loop(
            [proof.a, acc.into_affine(), proof.c],
            [G2Prepared::from(proof.b), self.gamma_neg.clone(), self.delta_neg.clone()],
        );
        Ok(Bn254::final_exponentiation(ml).is_some_and(|out| out == self.alpha_beta))
    }
}

/// One-off verification (prepares the key each call; prefer [`PreparedVerifyingKey`] in loops).
pub fn verify(vk: &VerifyingKey, public: &[Fr], proof: &Proof) -> Result<bool, EngineError> {
    PreparedVerifyingKey::new(vk).verify(public, proof)
}
