//! Groth16 keys and proofs, each field documented by its meaning in the protocol.
//!
//! Notation (Groth 2016, with circom's variable order): `w = (1, public…, private…)` is the
//! full assignment of `n_vars` variables, of which `n_public` (outputs then public inputs)
//! follow the constant 1. `u_i, v_i, w_i` are the QAP polynomials of variable `i`, `τ` the
//! secret evaluation point, `t(X) = X^n − 1` the vanishing polynomial of the size-`n` domain.

use ark_bn254::{Fr, G1Affine, G2Affine};
use zkq_kernels::{G1Bases, G2Bases};

/// A Groth16 proof `(A, B, C)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// `A = α + Σ w_i u_i(τ) + r·δ` in G1.
    pub a: G1Affine,
    /// `B = β + Σ w_i v_i(τ) + s·δ` in G2.
    pub b: G2Affine,
    /// `C = (Σ_private w_i (β u_i(τ) + α v_i(τ) + w_i(τ)) + h(τ) t(τ))/δ + s·A + r·B₁ − r s δ` in G1.
    pub c: G1Affine,
}

/// The verifying key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// `α·G1`.
    pub alpha_g1: G1Affine,
    /// `β·G2`.
    pub beta_g2: G2Affine,
    /// `γ·G2`.
    pub gamma_g2: G2Affine,
    /// `δ·G2`.
    pub delta_g2: G2Affine,
    /// `IC_i = (β u_i(τ) + α v_i(τ) + w_i(τ))/γ · G1` for `i = 0..=n_public` (snarkjs `IC`,
    /// arkworks `gamma_abc_g1`).
    pub ic: Vec<G1Affine>,
}

impl VerifyingKey {
    /// Number of public signals (outputs and public inputs, not the constant 1).
    pub fn n_public(&self) -> usize {
        self.ic.len().saturating_sub(1)
    }
}

/// One entry of the A or B matrix, from zkey section 4: `matrix[constraint][signal] = value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coefficient {
    /// Row: constraint index (rows `n_constraints..` bind the public inputs).
    pub constraint: u32,
    /// Column: variable index.
    pub signal: u32,
    /// The coefficient (canonical, already out of the zkey's double-Montgomery form).
    pub value: Fr,
}

/// A proving key as snarkjs writes it, with its point sets wrapped as MSM [`zkq_kernels::Bases`]
/// so a backend can keep them resident across a batch.
#[derive(Debug, Clone)]
pub struct ProvingKey {
    /// Number of variables `m + 1`, the constant 1 included.
    pub n_vars: usize,
    /// Number of public signals (outputs then public inputs), the constant 1 excluded.
    pub n_public: usize,
    /// Size `n` of the evaluation domain (a power of two).
    pub domain_size: usize,
    /// Number of circuit constraints (domain rows in use, public-input rows excluded).
    pub n_constraints: usize,
    /// The verifying key.
    pub vk: VerifyingKey,
    /// `β·G1`.
    pub beta_g1: G1Affine,
    /// `δ·G1`.
    pub delta_g1: G1Affine,
    /// Non-zero entries of matrix A (section 4, matrix 0), sorted by constraint.
    pub a_coefficients: Vec<Coefficient>,
    /// Non-zero entries of matrix B (section 4, matrix 1), sorted by constraint.
    pub b_coefficients: Vec<Coefficient>,
    /// `u_i(τ)·G1` for every variable (section 5).
    pub a_query: G1Bases,
    /// `v_i(τ)·G1` for every variable (section 6).
    pub b_g1_query: G1Bases,
    /// `v_i(τ)·G2` for every variable (section 7).
    pub b_g2_query: G2Bases,
    /// `(β u_i(τ) + α v_i(τ) + w_i(τ))/δ · G1` for the private variables (section 8).
    pub c_query: G1Bases,
    /// Points for the `h` MSM (section 9): the Lagrange basis of the odd coset of the 2n-th
    /// roots of unity, times `t(τ)/δ`, so that `Σ h_j·H_j = h(τ)t(τ)/δ` when `h_j` are the
    /// evaluations of `h` on that coset.
    pub h_query: G1Bases,
}

impl ProvingKey {
    /// Index of the first private variable.
    pub fn first_private(&self) -> usize {
        self.n_public + 1
    }
}
