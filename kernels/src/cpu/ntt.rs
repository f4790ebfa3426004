//! NTTs on the CPU: iterative radix-2 Cooley–Tukey over precomputed twiddles, parallel with
//! rayon, with coset scaling and the `1/n` factor fused into one pass.
//!
//! Algorithm: the iterative FFT of Cormen, Leiserson, Rivest & Stein, *Introduction to
//! Algorithms* (3rd ed.), §30.3 "Efficient FFT implementations": a bit-reversal permutation,
//! then `log n` butterfly stages of growing span. The inverse runs the same stages with `ω⁻¹`
//! and scales by `n⁻¹`.

use ark_ff::{FftField, Field, One};
use rayon::prelude::*;

use crate::{Fr, KernelError, NttOp};

/// Below this many butterflies per stage, run the stage on one thread.
const PARALLEL_MIN: usize = 1 << 10;

/// Precomputed twiddles for one size `n = 2^log_n`.
#[derive(Debug)]
pub(super) struct NttDomain {
    log_n: u32,
    /// `ω^i` for `i < n/2`.
    twiddles: Vec<Fr>,
    /// `ω^{-i}` for `i < n/2`.
    inv_twiddles: Vec<Fr>,
    /// `n⁻¹`.
    n_inv: Fr,
}

impl NttDomain {
    pub(super) fn new(log_n: u32) -> Result<Self, KernelError> {
        let n = 1u64 << log_n;
        let omega = Fr::get_root_of_unity(n)
            .ok_or_else(|| KernelError::InvalidInput(format!("no root of unity of order 2^{log_n}")))?;
        let omega_inv = omega.inverse().ok_or_else(|| KernelError::InvalidInput("ω = 0".into()))?;
        let half = (n / 2) as usize;
        let n_inv = Fr::from(n).inverse().ok_or_else(|| KernelError::InvalidInput("n = 0 in Fr".into()))?;
        Ok(Self { log_n, twiddles: powers(omega, half), inv_twiddles: powers(omega_inv, half), n_inv })
    }

    pub(super) fn apply(&self, v: &mut [Fr], op: NttOp) {
        debug_assert_eq!(v.len(), 1 << self.log_n);
        match op {
            NttOp::Forward => self.transform(v, &self.twiddles),
            NttOp::ForwardCoset(g) => {
                scale_by_powers(v, g, Fr::one());
                self.transform(v, &self.twiddles);
            }
            NttOp::Inverse => {
                self.transform(v, &self.inv_twiddles);
                v.par_iter_mut().with_min_len(PARALLEL_MIN).for_each(|x| *x *= self.n_inv);
            }
            NttOp::InverseCoset(g) => {
                self.transform(v, &self.inv_twiddles);
                // g ≠ 0 is checked by the seam; the fallback keeps this total.
                let g_inv = g.inverse().unwrap_or_else(Fr::one);
                scale_by_powers(v, g_inv, self.n_inv);
            }
        }
    }

    /// Bit-reversal permutation followed by the butterfly stages.
    fn transform(&self, v: &mut [Fr], twiddles: &[Fr]) {
        let n = v.len();
        if n <= 1 {
            return;
        }
        let shift = usize::BITS - self.log_n;
        for i in 0..n {
            let j = i.reverse_bits() >> shift;
            if i < j {
                v.swap(i, j);
            }
        }
        let mut half = 1;
        while half < n {
            let stride = n / (2 * half); // twiddle index step for this stage
            let butterfly = |chunk: &mut [Fr]| {
                let (lo, hi) = chunk.split_at_mut(half);
                for (j, (a, b)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                    let t = *b * twiddles[j * stride];
                    *b = *a - t;
                    *a += t;
                }
            };
            if n < PARALLEL_MIN * 2 {
                v.chunks_mut(2 * half).for_each(butterfly);
            } else if half < PARALLEL_MIN {
                v.par_chunks_mut(2 * half).with_min_len(PARALLEL_MIN / half).for_each(butterfly);
            } else {
                // Few, large chunks: parallelise inside each chunk instead.
                for chunk in v.chunks_mut(2 * half) {
                    let (lo, hi) = chunk.split_at_mut(half);
                    lo.par_iter_mut().zip(hi.par_iter_mut()).enumerate().with_min_len(PARALLEL_MIN).for_each(
                        |(j, (a, b))| {
                            let t = *b * twiddles[j * stride];
                            *b = *a - t;
                            *a += t;
                        },
                    );
                }
            }
            half *= 2;
        }
    }
}

/// `[1, x, x², …]` of length `len`.
fn powers(x: Fr, len: usize) -> Vec<Fr> {
    let mut out = Vec::with_capacity(len);
    let mut p = Fr::one();
    for _ in 0..len {
        out.push(p);
        p *= x;
    }
    out
}

/// `v[i] *= c · g^i`, in parallel chunks that each start from `c · g^{start}`.
fn scale_by_powers(v: &mut [Fr], g: Fr, c: Fr) {
    v.par_chunks_mut(PARALLEL_MIN).enumerate().for_each(|(k, chunk)| {
        let mut p = c * g.pow([(k * PARALLEL_MIN) as u64]);
        for x in chunk {
            *x *= p;
            p *= g;
        }
    });
}

pub(super) fn ntt_batch(domain: &NttDomain, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
    vectors.par_iter_mut().for_each(|v| domain.apply(v, op));
    Ok(())
}
