//! NTTs on the CPU: radix-4 decimation-in-frequency and decimation-in-time passes over one
//! precomputed twiddle table, parallel with rayon, with coset and `1/n` scaling fused into
//! the first or last pass.
//!
//! - DIF (Gentleman–Sande) maps natural order to bit-reversed order; DIT (Cooley–Tukey) maps
//!   bit-reversed order to natural order. Each radix-4 pass merges two radix-2 stages, so a
//!   transform of size `2^k` sweeps memory `⌈k/2⌉` times; an odd `k` adds one radix-2 pass.
//! - [`NttDomain::resample`] (subgroup evaluations → coset evaluations, the QAP's hot path)
//!   runs DIF with `ω⁻¹` and then DIT with `ω`: the bit-reversed intermediate is never
//!   permuted, and `n⁻¹·g^{rev(i)}` is applied in DIT's first pass.
//! - The single operations of [`NttOp`] have natural order on both sides, so they permute once
//!   (in parallel): Forward/ForwardCoset = DIF then permute (coset powers `g^i` fused into the
//!   first pass); Inverse/InverseCoset = permute then DIT (`n⁻¹·g^{−i}` fused into the last).
//!
//! Sources: Cooley & Tukey (1965) and Gentleman & Sande (1966) for the two decimations;
//! the radix-4 butterfly as two merged radix-2 stages follows Chu & George, *Inside the FFT
//! Black Box* (CRC 2000), ch. 7–8; that a DIF/DIT pair needs no bit-reversal between them is
//! their §4 and the standard trick of polynomial-multiplication NTTs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ark_ff::{FftField, Field, One, PrimeField};
use rayon::prelude::*;

use crate::{Fr, KernelError, NttOp};

/// Below this many butterflies in a pass, or per parallel task, run on one thread.
const PARALLEL_MIN: usize = 1 << 10;
/// Coset scale tables kept per domain (the QAP uses one shift; tests use a few).
const MAX_SCALE_TABLES: usize = 8;

/// What a scale table holds, per position `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ScaleKind {
    /// `g^i` (ForwardCoset, before DIF).
    Powers,
    /// `n⁻¹·g^{−i}` (InverseCoset, after DIT).
    InversePowers,
    /// `n⁻¹·g^{rev(i)}` (resample, in bit-reversed order before DIT).
    ReversedPowers,
}

/// Per-position factors fused into a pass.
#[derive(Clone, Copy)]
enum Scale<'a> {
    /// The same factor everywhere.
    Constant(Fr),
    /// `table[i]` at global position `i`.
    Table(&'a [Fr]),
}

impl Scale<'_> {
    #[inline]
    fn at(&self, i: usize) -> Fr {
        match self {
            Scale::Constant(c) => *c,
            Scale::Table(t) => t[i],
        }
    }
}

/// Scale tables by kind and shift (the shift as its canonical limbs).
type ScaleTables = HashMap<(ScaleKind, [u64; 4]), Arc<Vec<Fr>>>;

/// Precomputed twiddles for one size `n = 2^log_n`, and coset scale tables by shift.
#[derive(Debug)]
pub(super) struct NttDomain {
    log_n: u32,
    /// `ω^i` for `i < n`; `ω^{−i} = ω^{n−i}`.
    twiddles: Vec<Fr>,
    /// `n⁻¹`.
    n_inv: Fr,
    scales: Mutex<ScaleTables>,
}

/// Twiddle lookups in one direction.
#[derive(Clone, Copy)]
struct Twiddles<'a> {
    table: &'a [Fr],
    inverse: bool,
}

impl Twiddles<'_> {
    /// `ω^{±k}` for `k < n`.
    #[inline]
    fn get(&self, k: usize) -> Fr {
        if self.inverse {
            self.table[(self.table.len() - k) & (self.table.len() - 1)]
        } else {
            self.table[k]
        }
    }
}

impl NttDomain {
    pub(super) fn new(log_n: u32) -> Result<Self, KernelError> {
        let n = 1u64 << log_n;
        let omega = Fr::get_root_of_unity(n)
            .ok_or_else(|| KernelError::InvalidInput(format!("no root of unity of order 2^{log_n}")))?;
        let n_inv = Fr::from(n).inverse().ok_or_else(|| KernelError::InvalidInput("n = 0 in Fr".into()))?;
        Ok(Self { log_n, twiddles: powers(omega, Fr::one(), n as usize), n_inv, scales: Mutex::new(HashMap::new()) })
    }

    fn n(&self) -> usize {
        1 << self.log_n
    }

    fn tw(&self, inverse: bool) -> Twiddles<'_> {
        Twiddles { table: &self.twiddles, inverse }
    }

    /// The scale table `kind` for coset shift `g` (built once, then shared).
    fn scale_table(&self, kind: ScaleKind, g: Fr) -> Arc<Vec<Fr>> {
        let key = (kind, g.into_bigint().0);
        // The lock is NOT held while the table is built: building runs on rayon, and a worker
        // waiting inside a parallel section steals other jobs — one of which may ask for a scale
        // table, re-locking this mutex on the same thread (a deadlock the CI caught: a test hung
        // with a worker blocked here under `powers`). Two threads may build the same table at
        // once; the first insert wins.
        if let Some(t) = self.scales.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return t.clone();
        }
        let n = self.n();
        // g ≠ 0 is checked by the seam; the fallback keeps this total.
        let g_inv = g.inverse().unwrap_or_else(Fr::one);
        let table = match kind {
            ScaleKind::Powers => powers(g, Fr::one(), n),
            ScaleKind::InversePowers => powers(g_inv, self.n_inv, n),
            ScaleKind::ReversedPowers => {
                let p = powers(g, self.n_inv, n);
                let mut r = p.clone();
                bit_reverse(&mut r, self.log_n);
                r
            }
        };
        let mut map = self.scales.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SCALE_TABLES {
            map.clear();
        }
        map.entry(key).or_insert_with(|| Arc::new(table)).clone()
    }

    pub(super) fn apply(&self, v: &mut [Fr], op: NttOp) {
        debug_assert_eq!(v.len(), self.n());
        match op {
            NttOp::Forward => {
                dif(v, self.tw(false), None);
                bit_reverse(v, self.log_n);
            }
            NttOp::ForwardCoset(g) => {
                let t = self.scale_table(ScaleKind::Powers, g);
                dif(v, self.tw(false), Some(Scale::Table(&t)));
                bit_reverse(v, self.log_n);
            }
            NttOp::Inverse => {
                bit_reverse(v, self.log_n);
                dit(v, self.tw(true), None, Some(Scale::Constant(self.n_inv)));
            }
            NttOp::InverseCoset(g) => {
                let t = self.scale_table(ScaleKind::InversePowers, g);
                bit_reverse(v, self.log_n);
                dit(v, self.tw(true), None, Some(Scale::Table(&t)));
            }
        }
    }

    /// Subgroup evaluations → evaluations on the coset `g·⟨ω⟩`, without any permutation.
    pub(super) fn resample(&self, v: &mut [Fr], g: Fr) {
        let t = self.scale_table(ScaleKind::ReversedPowers, g);
        dif(v, self.tw(true), None);
        dit(v, self.tw(false), Some(Scale::Table(&t)), None);
    }
}

/// `[c, c·x, c·x², …]` of length `len`, in parallel chunks.
fn powers(x: Fr, c: Fr, len: usize) -> Vec<Fr> {
    let mut out = vec![Fr::one(); len];
    out.par_chunks_mut(PARALLEL_MIN).enumerate().for_each(|(k, chunk)| {
        let mut p = c * x.pow([(k * PARALLEL_MIN) as u64]);
        for o in chunk {
            *o = p;
            p *= x;
        }
    });
    out
}

/// In-place bit-reversal permutation, in parallel: every swap pair `(i, rev(i))` with
/// `i < rev(i)` is owned by `i`'s task.
fn bit_reverse(v: &mut [Fr], log_n: u32) {
    let n = v.len();
    if n <= 2 {
        return;
    }
    let shift = usize::BITS - log_n;
    let ptr = SendPtr(v.as_mut_ptr());
    (0..n).into_par_iter().with_min_len(PARALLEL_MIN * 4).for_each(|i| {
        let j = i.reverse_bits() >> shift;
        if i < j {
            let p = &ptr;
            // SAFETY: `i ↦ rev(i)` is an involution, so each pair {i, j} with i < j is
            // swapped by exactly one task (the one for i); no element is touched by two tasks,
            // and both indices are < n = v.len().
            unsafe { std::ptr::swap(p.0.add(i), p.0.add(j)) };
        }
    });
}

/// A raw pointer that may cross threads (used only where disjointness is argued).
struct SendPtr(*mut Fr);
// SAFETY: used only by `bit_reverse`, whose tasks touch disjoint elements.
unsafe impl Sync for SendPtr {}
// SAFETY: as above.
unsafe impl Send for SendPtr {}

/// Radix-4 DIF butterfly on `a, b, c, d = x[j], x[j+q], x[j+2q], x[j+3q]` of a block of size
/// `m = 4q`, with `w = ω_m` (so `w^j = ω^{s·j}`, `s = n/m`) and `i4 = ω_4`:
/// `t0 = a+c, t1 = a−c, t2 = b+d, t3 = (b−d)·i4`, then
/// `x[j] = t0+t2, x[j+q] = (t0−t2)·w^{2j}, x[j+2q] = (t1+t3)·w^j, x[j+3q] = (t1−t3)·w^{3j}`.
#[inline]
fn dif4(x: &mut [&mut Fr; 4], tw: Twiddles<'_>, s: usize, j: usize, i4: Fr) {
    let [a, b, c, d] = x;
    let t0 = **a + **c;
    let t1 = **a - **c;
    let t2 = **b + **d;
    let t3 = (**b - **d) * i4;
    **a = t0 + t2;
    if j == 0 {
        **b = t0 - t2;
        **c = t1 + t3;
        **d = t1 - t3;
    } else {
        **b = (t0 - t2) * tw.get(2 * s * j);
        **c = (t1 + t3) * tw.get(s * j);
        **d = (t1 - t3) * tw.get(3 * s * j);
    }
}

/// Radix-4 DIT butterfly (the inverse structure of [`dif4`]): with `b̃ = b·w^{2j}`,
/// `c̃ = c·w^j`, `d̃ = d·w^{3j}`: `t0 = a+b̃, t1 = a−b̃, t2 = c̃+d̃, t3 = (c̃−d̃)·i4`, then
/// `x[j] = t0+t2, x[j+q] = t1+t3, x[j+2q] = t0−t2, x[j+3q] = t1−t3`.
#[inline]
fn dit4(x: &mut [&mut Fr; 4], tw: Twiddles<'_>, s: usize, j: usize, i4: Fr) {
    let [a, b, c, d] = x;
    let (bt, ct, dt) = if j == 0 {
        (**b, **c, **d)
    } else {
        (**b * tw.get(2 * s * j), **c * tw.get(s * j), **d * tw.get(3 * s * j))
    };
    let t0 = **a + bt;
    let t1 = **a - bt;
    let t2 = ct + dt;
    let t3 = (ct - dt) * i4;
    **a = t0 + t2;
    **b = t1 + t3;
    **c = t0 - t2;
    **d = t1 - t3;
}

/// One radix-4 pass over blocks of size `m` (quarter `q`). `kernel` gets the four elements,
/// `j` and the global index of `x[j]`. Parallel over blocks when there are many, else over
/// `j` inside each block.
fn radix4_pass<K>(v: &mut [Fr], m: usize, kernel: K)
where
    K: Fn([&mut Fr; 4], usize, usize) + Sync,
{
    let q = m / 4;
    let block = |offset: usize, chunk: &mut [Fr]| {
        let (x0, rest) = chunk.split_at_mut(q);
        let (x1, rest) = rest.split_at_mut(q);
        let (x2, x3) = rest.split_at_mut(q);
        for (j, (((a, b), c), d)) in x0.iter_mut().zip(x1).zip(x2).zip(x3).enumerate() {
            kernel([a, b, c, d], j, offset + j);
        }
    };
    let n = v.len();
    if n < 4 * PARALLEL_MIN {
        v.chunks_mut(m).enumerate().for_each(|(k, chunk)| block(k * m, chunk));
    } else if q < PARALLEL_MIN {
        v.par_chunks_mut(m).enumerate().with_min_len(PARALLEL_MIN / q).for_each(|(k, chunk)| block(k * m, chunk));
    } else {
        for (k, chunk) in v.chunks_mut(m).enumerate() {
            let (x0, rest) = chunk.split_at_mut(q);
            let (x1, rest) = rest.split_at_mut(q);
            let (x2, x3) = rest.split_at_mut(q);
            x0.par_chunks_mut(PARALLEL_MIN)
                .zip(x1.par_chunks_mut(PARALLEL_MIN))
                .zip(x2.par_chunks_mut(PARALLEL_MIN))
                .zip(x3.par_chunks_mut(PARALLEL_MIN))
                .enumerate()
                .for_each(|(t, (((c0, c1), c2), c3))| {
                    let j0 = t * PARALLEL_MIN;
                    for (o, (((a, b), c), d)) in c0.iter_mut().zip(c1).zip(c2).zip(c3).enumerate() {
                        kernel([a, b, c, d], j0 + o, k * m + j0 + o);
                    }
                });
        }
    }
}

/// One radix-2 pass over blocks of size 2 (no twiddles): `(u, v) → (u+v, u−v)`, with optional
/// scaling of the inputs (`pre`) or outputs (`post`).
fn radix2_pass(v: &mut [Fr], pre: Option<Scale<'_>>, post: Option<Scale<'_>>) {
    let pass = |(k, pair): (usize, &mut [Fr])| {
        let i = 2 * k;
        if let Some(s) = pre {
            pair[0] *= s.at(i);
            pair[1] *= s.at(i + 1);
        }
        let (u, w) = (pair[0], pair[1]);
        pair[0] = u + w;
        pair[1] = u - w;
        if let Some(s) = post {
            pair[0] *= s.at(i);
            pair[1] *= s.at(i + 1);
        }
    };
    if v.len() < 4 * PARALLEL_MIN {
        v.chunks_mut(2).enumerate().for_each(pass);
    } else {
        v.par_chunks_mut(2).enumerate().with_min_len(PARALLEL_MIN).for_each(pass);
    }
}

/// Scales `x[g + k·q]` for the four elements of a butterfly.
#[inline]
fn scale4(x: &mut [&mut Fr; 4], scale: Option<Scale<'_>>, g: usize, q: usize) {
    if let Some(s) = scale {
        for (k, e) in x.iter_mut().enumerate() {
            **e *= s.at(g + k * q);
        }
    }
}

/// Decimation in frequency: natural order in, bit-reversed order out. `pre` scales the input
/// (in the first pass).
fn dif(v: &mut [Fr], tw: Twiddles<'_>, pre: Option<Scale<'_>>) {
    let n = v.len();
    if n == 1 {
        if let Some(s) = pre {
            v[0] *= s.at(0);
        }
        return;
    }
    let i4 = if n >= 4 { tw.get(n / 4) } else { Fr::one() };
    let mut m = n;
    let mut first = true;
    while m >= 4 {
        let (q, s) = (m / 4, n / m);
        let scale = if first { pre } else { None };
        radix4_pass(v, m, |mut x, j, g| {
            scale4(&mut x, scale, g, q);
            dif4(&mut x, tw, s, j, i4);
        });
        first = false;
        m /= 4;
    }
    if m == 2 {
        radix2_pass(v, if first { pre } else { None }, None);
    }
}

/// Decimation in time: bit-reversed order in, natural order out. `pre` scales the
/// (bit-reversed) input in the first pass; `post` scales the output in the last pass.
fn dit(v: &mut [Fr], tw: Twiddles<'_>, pre: Option<Scale<'_>>, post: Option<Scale<'_>>) {
    let n = v.len();
    if n == 1 {
        for s in [pre, post].into_iter().flatten() {
            v[0] *= s.at(0);
        }
        return;
    }
    let i4 = if n >= 4 { tw.get(n / 4) } else { Fr::one() };
    let log_n = n.trailing_zeros();
    let mut m = 1;
    let mut first = true;
    if log_n % 2 == 1 {
        radix2_pass(v, pre, if n == 2 { post } else { None });
        first = false;
        m = 2;
    }
    while m < n {
        m *= 4;
        let (q, s) = (m / 4, n / m);
        let pre_here = if first { pre } else { None };
        let post_here = if m == n { post } else { None };
        radix4_pass(v, m, |mut x, j, g| {
            scale4(&mut x, pre_here, g, q);
            dit4(&mut x, tw, s, j, i4);
            scale4(&mut x, post_here, g, q);
        });
        first = false;
    }
}

/// Applies `op` to every vector of a batch, in parallel.
pub(super) fn ntt_batch(domain: &NttDomain, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
    vectors.par_iter_mut().for_each(|v| domain.apply(v, op));
    Ok(())
}

/// Resamples every vector of a batch onto the coset `g·⟨ω⟩`, in parallel.
pub(super) fn resample_batch(domain: &NttDomain, vectors: &mut [&mut [Fr]], g: Fr) {
    vectors.par_iter_mut().for_each(|v| domain.resample(v, g));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// DIF followed by the permutation equals DIT after the permutation: both are the DFT.
    #[test]
    fn dif_and_dit_agree_at_every_size() {
        let mut rng = StdRng::seed_from_u64(3);
        for log_n in 0..=11 {
            let d = NttDomain::new(log_n).expect("domain");
            let v: Vec<Fr> = (0..1usize << log_n).map(|_| Fr::rand(&mut rng)).collect();
            let mut a = v.clone();
            dif(&mut a, d.tw(false), None);
            bit_reverse(&mut a, log_n);
            let mut b = v.clone();
            bit_reverse(&mut b, log_n);
            dit(&mut b, d.tw(false), None, None);
            assert_eq!(a, b, "n = 2^{log_n}");
            // resample = inverse then coset forward.
            let g = Fr::from(7u64);
            let mut r = v.clone();
            d.resample(&mut r, g);
            let mut want = v.clone();
            d.apply(&mut want, NttOp::Inverse);
            d.apply(&mut want, NttOp::ForwardCoset(g));
            assert_eq!(r, want, "resample n = 2^{log_n}");
        }
    }
}
