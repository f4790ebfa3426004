//! The circom QAP: from a witness to the evaluations of `h` that the H MSM consumes.
//!
//! snarkjs and rapidsnark (not arkworks' libsnark reduction) define it; a zkey's section 9
//! only works with this one. With `n` the domain size, `ω_{2n}` a primitive 2n-th root:
//! 1. `a_i = Σ_j A[i][j]·w_j`, `b_i = Σ_j B[i][j]·w_j` for every row `i < n` (zkey section 4,
//!    which already contains the public-input rows), and `c_i = a_i·b_i` — for a satisfying
//!    witness this equals `Σ_j C[i][j]·w_j`, so the C matrix is never needed.
//! 2. Interpolate each of `a, b, c` (inverse NTT) and evaluate on the odd coset `ω_{2n}·⟨ω_n⟩`
//!    (coset NTT): 6 NTTs of size `n`, as one [`zkq_kernels::Backend::ntt_resample`] call per
//!    batch (which a backend may fuse).
//! 3. `h_i = a_i·b_i − c_i` on that coset.
//!
//! (snarkjs `src/groth16_prove.js`, functions `groth16Prove` and `buildABC1`.)

use ark_bn254::Fr;
use ark_ff::{FftField, Zero};
use rayon::prelude::*;
use zkq_kernels::Backend;

use crate::keys::{Coefficient, ProvingKey};
use crate::EngineError;

/// `Σ_j M[i][j]·w_j` for every row of a sparse matrix sorted by row.
fn matrix_times_witness(coefficients: &[Coefficient], w: &[Fr], n: usize) -> Vec<Fr> {
    let mut out = vec![Fr::zero(); n];
    for c in coefficients {
        out[c.constraint as usize] += c.value * w[c.signal as usize];
    }
    out
}

/// The `h` evaluations for each witness of a batch. The witnesses' shapes must already be
/// checked against the key. The 6 NTTs per witness go to the backend as one batched call.
pub fn h_evaluations(backend: &dyn Backend, pk: &ProvingKey, witnesses: &[&[Fr]]) -> Result<Vec<Vec<Fr>>, EngineError> {
    let n = pk.domain_size;
    let shift = Fr::get_root_of_unity(2 * n as u64)
        .ok_or_else(|| EngineError::format("proving key", format!("no 2n-th root of unity for domain {n}")))?;
    // a, b, c per witness, laid out [a0, b0, c0, a1, b1, c1, …].
    let mut abc: Vec<Vec<Fr>> = {
        let _span = tracing::info_span!("build a, b, c").entered();
        witnesses
            .par_iter()
            .flat_map_iter(|w| {
                let (a, b) = rayon::join(
                    || matrix_times_witness(&pk.a_coefficients, w, n),
                    || matrix_times_witness(&pk.b_coefficients, w, n),
                );
                let c: Vec<Fr> = a.par_iter().zip(&b).map(|(x, y)| *x * y).collect();
                [a, b, c]
            })
            .collect()
    };
    {
        let _span = tracing::info_span!("NTT to odd coset").entered();
        let mut views: Vec<&mut [Fr]> = abc.iter_mut().map(Vec::as_mut_slice).collect();
        backend.ntt_resample(&mut views, shift)?;
    }
    let _span = tracing::info_span!("h = a·b − c").entered();
    Ok(abc
        .chunks_exact_mut(3)
        .map(|v| {
            let (a, rest) = v.split_at_mut(1);
            let (b, c) = rest.split_at_mut(1);
            let mut h = std::mem::take(&mut a[0]);
            h.par_iter_mut().zip(&b[0]).zip(&c[0]).for_each(|((x, y), z)| *x = *x * y - z);
            h
        })
        .collect())
}
