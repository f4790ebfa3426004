//! The host build of the CUDA sources (`cuda/host/harness.cpp`, compiled by `build.rs`): safe
//! wrappers that run the CUDA field and curve code and the MSM and NTT kernel bodies on the CPU,
//! in the launch order of [`super::backend`], with the same plans and tables. Test-only.

use super::layout::{self, AFFINE_WORDS, FIELD_WORDS, XYZZ_WORDS};
use super::plan::{self, MsmShape};
use crate::{Fr, G1Affine, G1Projective, NttOp};

mod ffi {
    use super::MsmShape;
    extern "C" {
        pub(super) fn zkq_host_field_op(field: u32, op: u32, a: *const u32, b: *const u32, out: *mut u32);
        pub(super) fn zkq_host_g1_op(op: u32, p: *const u32, q: *const u32, k: u32, out: *mut u32);
        pub(super) fn zkq_host_msm(
            table: *mut u32,
            scalars: *mut u32,
            shape: MsmShape,
            segments: u32,
            precompute: u32,
            out: *mut u32,
        );
        pub(super) fn zkq_host_ntt(
            x: *mut u32,
            out: *mut u32,
            log_n: u32,
            tile: u32,
            tw: *const u32,
            pre: *const u32,
            post: *const u32,
            post_const: *const u32,
        );
        pub(super) fn zkq_host_ab_minus_c(n: u32, a: *const u32, b: *const u32, c: *const u32, out: *mut u32);
    }
}

/// Which field a [`field_op`] works in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldId {
    /// The base field Fq.
    Fq = 0,
    /// The scalar field Fr.
    Fr = 1,
}

/// Field operations of `cuda/ff`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldOp {
    /// a + b
    Add = 0,
    /// a − b
    Sub = 1,
    /// a · b (Montgomery)
    Mul = 2,
    /// −a
    Neg = 3,
    /// a · R⁻¹
    FromMontgomery = 4,
    /// a⁻¹ (0 ↦ 0)
    Inverse = 5,
}

/// Runs one field operation on 8-limb words.
pub(crate) fn field_op(field: FieldId, op: FieldOp, a: &[u32; 8], b: &[u32; 8]) -> [u32; 8] {
    let mut out = [0u32; 8];
    // SAFETY: the harness reads 8 words from `a` and `b` and writes 8 to `out`, all of which are
    // live arrays of exactly that size for the duration of the call.
    unsafe { ffi::zkq_host_field_op(field as u32, op as u32, a.as_ptr(), b.as_ptr(), out.as_mut_ptr()) };
    out
}

/// Curve operations of `cuda/ec`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum G1Op {
    /// XYZZ + XYZZ
    Add = 0,
    /// XYZZ + affine
    AddAffine = 1,
    /// 2 · XYZZ
    Double = 2,
    /// 2 · affine
    DoubleAffine = 3,
    /// XYZZ → affine (16 words out)
    ToAffine = 4,
    /// k · XYZZ for a 32-bit k
    MulSmall = 5,
}

/// Runs one curve operation: `p` is 32 XYZZ words, `q` 32 XYZZ or 16 affine words (padded).
pub(crate) fn g1_op(op: G1Op, p: &[u32], q: &[u32], k: u32) -> Vec<u32> {
    let mut pw = [0u32; XYZZ_WORDS];
    pw[..p.len().min(XYZZ_WORDS)].copy_from_slice(&p[..p.len().min(XYZZ_WORDS)]);
    let mut qw = [0u32; XYZZ_WORDS];
    qw[..q.len().min(XYZZ_WORDS)].copy_from_slice(&q[..q.len().min(XYZZ_WORDS)]);
    let mut out = [0u32; XYZZ_WORDS];
    // SAFETY: the harness reads at most 32 words from each input and writes at most 32 to `out`.
    unsafe { ffi::zkq_host_g1_op(op as u32, pw.as_ptr(), qw.as_ptr(), k, out.as_mut_ptr()) };
    out.to_vec()
}

/// The CUDA MSM pipeline on the host, with the plan a device with room for `max_table_points`
/// table points would use.
pub(crate) fn msm(bases: &[G1Affine], scalars: &[Fr], max_table_points: u64) -> G1Projective {
    assert_eq!(bases.len(), scalars.len());
    if bases.is_empty() {
        return G1Projective::default();
    }
    let shape = plan::msm_shape(bases.len(), max_table_points);
    let mut table = Vec::with_capacity(shape.table_points() as usize * AFFINE_WORDS);
    layout::push_affine(&mut table, bases);
    table.resize(shape.table_points() as usize * AFFINE_WORDS, 0);
    let mut words = Vec::new();
    layout::push_scalars(&mut words, scalars);
    let segments = shape.segments();
    let mut out = vec![0u32; (shape.groups * segments) as usize * XYZZ_WORDS];
    // SAFETY: `table` holds factor·n affine points, `words` n scalars, `out` groups·segments XYZZ
    // points — the sizes the harness indexes for this shape.
    unsafe {
        ffi::zkq_host_msm(table.as_mut_ptr(), words.as_mut_ptr(), shape, segments, u32::from(shape.factor > 1), out.as_mut_ptr())
    };
    plan::combine_groups(&shape, &out)
}

/// The CUDA NTT pipeline on the host (`v.len()` a power of two ≥ 1).
pub(crate) fn ntt(v: &mut [Fr], op: NttOp) {
    let log_n = v.len().trailing_zeros();
    let tables = plan::ntt_tables(log_n, op).expect("a supported size and non-zero shift");
    let words = |xs: &[Fr]| {
        let mut w = Vec::new();
        layout::push_scalars(&mut w, xs);
        w
    };
    let mut x = words(v);
    let mut out = vec![0u32; x.len()];
    let tw = words(&tables.twiddles);
    let pre = tables.pre.as_deref().map(words);
    let post = tables.post.as_deref().map(words);
    let post_const = tables.post_const.map(|c| words(&[c]));
    let ptr = |o: &Option<Vec<u32>>| o.as_ref().map_or(std::ptr::null(), |w| w.as_ptr());
    // SAFETY: `x` and `out` hold n elements, `tw` n/2 (at least 1), `pre`/`post` n when present,
    // `post_const` 1 when present; null pointers mean absent, as the harness expects.
    unsafe {
        ffi::zkq_host_ntt(
            x.as_mut_ptr(),
            out.as_mut_ptr(),
            log_n,
            plan::ntt_tile(log_n),
            tw.as_ptr(),
            ptr(&pre),
            ptr(&post),
            ptr(&post_const),
        )
    };
    v.copy_from_slice(&layout::scalars_from_words(&out));
}

/// `a ∘ b − c` by the Groth16 glue kernel body.
pub(crate) fn ab_minus_c(a: &[Fr], b: &[Fr], c: &[Fr]) -> Vec<Fr> {
    let n = a.len();
    assert!(b.len() == n && c.len() == n);
    let w = |xs: &[Fr]| {
        let mut v = Vec::new();
        layout::push_scalars(&mut v, xs);
        v
    };
    let (aw, bw, cw) = (w(a), w(b), w(c));
    let mut out = vec![0u32; n * FIELD_WORDS];
    // SAFETY: all four buffers hold n field elements.
    unsafe { ffi::zkq_host_ab_minus_c(n as u32, aw.as_ptr(), bw.as_ptr(), cw.as_ptr(), out.as_mut_ptr()) };
    layout::scalars_from_words(&out)
}

/// The CUDA kernels run on the host as a [`crate::Backend`], so the generic equivalence
/// checkers (`crate::testing`) apply to the CUDA code unchanged. G2 goes to the CPU backend, as
/// on the GPU. `max_table_points` plays the device's table budget.
#[derive(Debug)]
pub(crate) struct HostEmulatedCuda {
    /// Table budget in affine points (decides the precomputation factor).
    pub(crate) max_table_points: u64,
    cpu: crate::CpuBackend,
}

impl HostEmulatedCuda {
    /// With the given table budget.
    pub(crate) fn new(max_table_points: u64) -> Self {
        Self { max_table_points, cpu: crate::CpuBackend::new(Some(1)).expect("cpu backend") }
    }
}

impl crate::Backend for HostEmulatedCuda {
    fn kind(&self) -> crate::BackendKind {
        crate::BackendKind::Cuda
    }
    fn device_name(&self) -> String {
        format!("cuda kernels emulated on the host (table budget {} points)", self.max_table_points)
    }
    fn msm_g1_unchecked(&self, bases: &crate::G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, crate::KernelError> {
        Ok(scalars.iter().map(|s| msm(bases.points(), s, self.max_table_points)).collect())
    }
    fn msm_g2_unchecked(&self, bases: &crate::G2Bases, scalars: &[&[Fr]]) -> Result<Vec<crate::G2Projective>, crate::KernelError> {
        self.cpu.msm_g2_unchecked(bases, scalars)
    }
    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), crate::KernelError> {
        for v in vectors.iter_mut() {
            if v.len() > 1 {
                ntt(v, op);
            }
        }
        Ok(())
    }
}
