//! Pure planning shared by the GPU path and the host test harness: the MSM's window width,
//! precomputation factor and reduction shape; the NTT's twiddle and scaling tables; and the host
//! combination of the GPU's partial results.

use ark_ff::{FftField, Field, One};

use super::layout::{xyzz_to_projective, XYZZ_WORDS};
use crate::{Fr, G1Projective, NttOp};

/// Bits of the largest scalar (r < 2^254); signed digits need ⌈255/c⌉ windows (see
/// `cuda/msm/pippenger.cuh`: with c·w ≥ 255 the top window never carries out).
const SCALAR_BITS_SIGNED: u32 = 255;

/// Entries one accumulation thread sums (`MSM_CHUNK` in `cuda/msm/pippenger.cuh`).
pub const MSM_CHUNK: u32 = 64;

/// Threads per group in the bucket reduction (a power of two; capped by the bucket count).
pub const REDUCE_SEGMENTS: u32 = 256;

/// The MSM shape, laid out as `msm_shape_t` in `cuda/msm/pippenger.cuh`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsmShape {
    /// Bases (and scalars per MSM).
    pub n: u32,
    /// Window width in bits.
    pub c: u32,
    /// Signed-digit windows, ⌈255 / c⌉.
    pub windows: u32,
    /// Precomputed multiples 2^(c·k)·P, k < factor, per base (1 = none).
    pub factor: u32,
    /// Bucket groups, ⌈windows / factor⌉.
    pub groups: u32,
    /// Buckets per group, 2^(c−1).
    pub buckets: u32,
}

impl MsmShape {
    /// Reduction threads per group.
    pub fn segments(&self) -> u32 {
        REDUCE_SEGMENTS.min(self.buckets)
    }

    /// Affine points in the resident table.
    pub fn table_points(&self) -> u64 {
        u64::from(self.factor) * u64::from(self.n)
    }

    /// Upper bound on bucket entries (one per non-zero digit).
    pub fn max_entries(&self) -> u64 {
        u64::from(self.windows) * u64::from(self.n)
    }

    /// Buckets over all groups.
    pub fn total_buckets(&self) -> u32 {
        self.groups * self.buckets
    }

    /// Upper bound on accumulation chunks: Σ_b ⌈count_b / CHUNK⌉ ≤ entries / CHUNK + buckets.
    pub fn max_chunks(&self) -> u64 {
        self.max_entries() / u64::from(MSM_CHUNK) + u64::from(self.total_buckets())
    }
}

fn windows(c: u32) -> u32 {
    SCALAR_BITS_SIGNED.div_ceil(c)
}

/// Chooses the window width and precomputation factor for `n` bases when the resident table may
/// hold at most `max_table_points` affine points. Cost model (field multiplications, see
/// /work/shared/research/gpu-kernels.md §3.3–3.4): 10 per bucket addition (XYZZ + affine),
/// 2 × 14 per bucket in the running-sum reduction, per group; the table shares one bucket set
/// across `factor` windows.
pub fn msm_shape(n: usize, max_table_points: u64) -> MsmShape {
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    let mut best: Option<(f64, MsmShape)> = None;
    for c in 2..=20u32 {
        let w = windows(c);
        let fits = (max_table_points / u64::from(n32.max(1))).max(1);
        let factor = u32::try_from(fits.min(u64::from(w))).unwrap_or(w);
        // entries index the table with 31 bits
        if u64::from(factor) * u64::from(n32) >= 1 << 31 {
            continue;
        }
        let groups = w.div_ceil(factor);
        let buckets = 1u32 << (c - 1);
        let cost = 10.0 * f64::from(w) * f64::from(n32) + 28.0 * f64::from(groups) * f64::from(buckets);
        let shape = MsmShape { n: n32, c, windows: w, factor, groups, buckets };
        if best.as_ref().is_none_or(|(b, _)| cost < *b) {
            best = Some((cost, shape));
        }
    }
    best.map(|(_, s)| s).unwrap_or(MsmShape { n: n32, c: 2, windows: windows(2), factor: 1, groups: windows(2), buckets: 2 })
}

/// Sums the finished reduction points (`groups × segments` XYZZ points, group-major) and
/// combines the groups: Σ_g 2^(c·factor·g) · R_g, by Horner's rule from the top group.
pub fn combine_groups(shape: &MsmShape, finished: &[u32]) -> G1Projective {
    let segments = shape.segments() as usize;
    let mut acc = G1Projective::default();
    for g in (0..shape.groups as usize).rev() {
        for _ in 0..shape.c * shape.factor {
            acc = acc + acc;
        }
        for t in 0..segments {
            let at = (g * segments + t) * XYZZ_WORDS;
            acc += xyzz_to_projective(&finished[at..at + XYZZ_WORDS]);
        }
    }
    acc
}

/// The tables one NTT launch sequence reads.
#[derive(Debug, Clone)]
pub struct NttTables {
    /// `tw[k] = ω^k` (forward) or `ω^−k` (inverse), k < n/2.
    pub twiddles: Vec<Fr>,
    /// Input scaling by position (`g^i` for a forward coset transform).
    pub pre: Option<Vec<Fr>>,
    /// Output scaling by position (`n^−1 · g^−i` for an inverse coset transform).
    pub post: Option<Vec<Fr>>,
    /// Output scaling for all (`n^−1` for a plain inverse transform).
    pub post_const: Option<Fr>,
}

fn powers(base: Fr, scale: Fr, count: usize) -> Vec<Fr> {
    let mut out = Vec::with_capacity(count);
    let mut cur = scale;
    for _ in 0..count {
        out.push(cur);
        cur *= base;
    }
    out
}

/// Tables for `op` on vectors of length `2^log_n`, with the conventions of [`NttOp`] (the root
/// of unity is `Fr::get_root_of_unity(n)`, as the CPU backend uses). `None` for a size beyond the
/// field's two-adicity or a zero coset shift.
pub fn ntt_tables(log_n: u32, op: NttOp) -> Option<NttTables> {
    let n = 1usize << log_n;
    let omega = Fr::get_root_of_unity(n as u64)?;
    let inverse = matches!(op, NttOp::Inverse | NttOp::InverseCoset(_));
    let root = if inverse { omega.inverse()? } else { omega };
    let twiddles = powers(root, Fr::one(), (n / 2).max(1));
    let n_inv = Fr::from(n as u64).inverse()?;
    let (pre, post, post_const) = match op {
        NttOp::Forward => (None, None, None),
        NttOp::ForwardCoset(g) => (Some(powers(g, Fr::one(), n)), None, None),
        NttOp::Inverse => (None, None, Some(n_inv)),
        NttOp::InverseCoset(g) => (None, Some(powers(g.inverse()?, n_inv, n)), None),
    };
    Some(NttTables { twiddles, pre, post, post_const })
}

/// Shared-memory tile size (elements) for an NTT of `2^log_n`: 1024 (32 KiB of `Fr`), or the
/// whole vector when smaller.
pub fn ntt_tile(log_n: u32) -> u32 {
    1u32 << log_n.min(10)
}

/// The global (one pass per stage) half-spans for an NTT of `2^log_n`: n/2, n/4, …, tile.
pub fn ntt_global_stages(log_n: u32) -> Vec<u32> {
    let n = 1u32 << log_n;
    let tile = ntt_tile(log_n);
    let mut out = Vec::new();
    let mut h = n / 2;
    while h >= tile && h >= 1 {
        out.push(h);
        h /= 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_consistent() {
        for &(n, budget) in &[(1usize, 1u64 << 30), (5, 5), (1000, 1 << 30), (1025, 1025), (1 << 16, 1 << 20), (1 << 20, 1 << 24)] {
            let s = msm_shape(n, budget);
            assert!(s.c >= 2 && s.c <= 20, "{s:?}");
            assert!(s.c * s.windows >= 255, "{s:?}");
            assert!(s.factor >= 1 && s.factor <= s.windows, "{s:?}");
            assert_eq!(s.groups, s.windows.div_ceil(s.factor), "{s:?}");
            assert!(s.table_points() <= budget.max(n as u64), "{s:?} within the budget");
            assert_eq!(s.buckets % s.segments(), 0, "{s:?}");
        }
        // A tight budget means no precomputation; a generous one shares one bucket set.
        assert_eq!(msm_shape(1 << 16, 1 << 16).factor, 1);
        assert_eq!(msm_shape(1 << 16, 1 << 30).groups, 1);
    }

    #[test]
    fn chunk_size_matches_the_cuda_header() {
        let header = include_str!("../../cuda/msm/pippenger.cuh");
        assert!(header.contains(&format!("#define MSM_CHUNK {MSM_CHUNK}u")), "MSM_CHUNK differs between Rust and CUDA");
    }

    #[test]
    fn ntt_stage_split_covers_every_stage() {
        for log_n in 0..=14 {
            let global = ntt_global_stages(log_n);
            let tile = ntt_tile(log_n);
            let shared = tile.trailing_zeros();
            assert_eq!(global.len() as u32 + shared, log_n, "log_n {log_n}");
        }
    }
}
