//! NTT operations over the BN254 scalar field.
//!
//! Conventions (those of arkworks' `Radix2EvaluationDomain` and of snarkjs): for a vector of
//! length `n = 2^k` and ω the canonical primitive n-th root of unity of `Fr`,
//! - `Forward` maps coefficients `c` to evaluations `e_i = Σ_j c_j ω^{ij}`;
//! - `Inverse` is its inverse;
//! - `ForwardCoset(g)` evaluates on the coset `g·⟨ω⟩`: `e_i = Σ_j c_j (g ω^i)^j`;
//! - `InverseCoset(g)` is its inverse.

use crate::Fr;

/// One NTT operation, applied in place to every vector of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NttOp {
    /// Coefficients → evaluations on the subgroup.
    Forward,
    /// Evaluations on the subgroup → coefficients.
    Inverse,
    /// Coefficients → evaluations on the coset `shift·⟨ω⟩`.
    ForwardCoset(Fr),
    /// Evaluations on the coset `shift·⟨ω⟩` → coefficients.
    InverseCoset(Fr),
}

/// The largest NTT the field supports: BN254's `Fr` has two-adicity 28.
pub const MAX_LOG_SIZE: u32 = 28;
