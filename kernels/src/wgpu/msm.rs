//! MSM on the device: host side of the `msm_*.wgsl` stages.
//!
//! Design (cuZK / ZPrize-2023 WebGPU): signed c-bit window digits (|d| ≤ 2^(c−1), so half the
//! buckets), points grouped by bucket with a counting sort (count → scan → scatter), one thread
//! per bucket accumulating with complete mixed additions, and a parallel running-sum bucket
//! reduction (segments, then windows). The host finishes with Horner's rule over ≈255/c window
//! sums. Bases are uploaded once per [`crate::Bases`] id and stay resident for the batch.
//!
//! Everything bound stays within one storage binding ([`Gpu::max_binding_bytes`]): bases are
//! resident in chunks of [`chunk_points`] points (an MSM is the sum of its chunks' MSMs),
//! windows run in groups whose sorted entries, buckets and segment sums fit, the window width
//! narrows when one window's buckets would not fit ([`Plan::fitted`]), and window sums are read
//! back whenever their buffer is full.

use std::sync::{Arc, Mutex};

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field, Zero};

use super::gpu::{Binding, Compiled, Gpu};
use super::shaders::{from_montgomery_words, montgomery_words, Group, Module};
use crate::{Bases, Fr, KernelError};

/// Bits the windows must cover: scalars are < r < 2^254, and the signed recoding needs one more.
const SCALAR_BITS: u32 = 255;
/// Longest bucket one invocation adds up on a CPU adapter: lavapipe's gallivm stops an
/// invocation's loops after 65,535 iterations in total, and one mixed addition costs about 120
/// of them in the compact shader form (see `wgsl/dispatch.wgsl`); buckets of 400 points were
/// measured exact there and 511 not.
pub(crate) const CPU_ADAPTER_MAX_RUN: u32 = 256;
/// The same for G2, whose mixed addition costs about three times the loop iterations (an Fq2
/// multiply is three Fq multiplies in a loop: ≈ 370 iterations per addition, so 128 points
/// use ≈ 47,000). Longer runs are refused up front; runs that
/// still exhaust the limiter are caught by the kernels' `loop_limit_hit` probe.
pub(crate) const CPU_ADAPTER_MAX_RUN_G2: u32 = 128;
/// Start of the error reason for an MSM that a CPU adapter's loop limit cut short (a bucket
/// over [`CPU_ADAPTER_MAX_RUN`], or a kernel whose `loop_limit_hit` probe fired); the backend
/// redoes such an MSM on the CPU.
pub(crate) const BUCKET_TOO_LONG: &str = "bucket too long for a CPU adapter";
/// Resident base sets kept per group before the oldest is dropped (a Groth16 key has four in G1
/// and one in G2).
const MAX_RESIDENT: usize = 8;

/// A curve group the MSM kernels run for: its device group and coordinate conversions.
pub(crate) trait GpuCurve: SWCurveConfig {
    const GROUP: Group;
    fn push_coord(c: &Self::BaseField, out: &mut Vec<u32>);
    fn coord(words: &[u32]) -> Self::BaseField;
}

impl GpuCurve for ark_bn254::g1::Config {
    const GROUP: Group = Group::G1;
    fn push_coord(c: &ark_bn254::Fq, out: &mut Vec<u32>) {
        out.extend_from_slice(&montgomery_words(c));
    }
    fn coord(words: &[u32]) -> ark_bn254::Fq {
        from_montgomery_words(&words[..8])
    }
}

impl GpuCurve for ark_bn254::g2::Config {
    const GROUP: Group = Group::G2;
    fn push_coord(c: &ark_bn254::Fq2, out: &mut Vec<u32>) {
        out.extend_from_slice(&montgomery_words(&c.c0));
        out.extend_from_slice(&montgomery_words(&c.c1));
    }
    fn coord(words: &[u32]) -> ark_bn254::Fq2 {
        ark_bn254::Fq2::new(from_montgomery_words(&words[..8]), from_montgomery_words(&words[8..16]))
    }
}

/// One base set on the device, cut into chunks of at most [`chunk_points`] points so every
/// per-point buffer of a chunk (coordinates, scalars, sorted entries) fits one storage binding.
#[derive(Debug)]
struct Resident {
    id: u64,
    n: usize,
    chunks: Vec<ResidentChunk>,
}

/// One chunk of a base set: x and y coordinates in separate buffers (each within the binding
/// limit for twice as many points as one interleaved buffer would be), and a skip flag per
/// point for the identity.
#[derive(Debug)]
struct ResidentChunk {
    /// Index of the chunk's first point in the base set.
    start: usize,
    n: usize,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    skip: wgpu::Buffer,
}

/// Points per chunk of an MSM: the most points whose scalars (8 words each) and coordinates
/// (`coord_words` each) fit one binding of `max_words` words. An MSM over more points is the
/// sum of the MSMs of its chunks.
pub(crate) fn chunk_points(max_words: usize, coord_words: usize) -> usize {
    (max_words / coord_words.max(8)).max(1)
}

/// The window plan for an MSM of `n` points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Window width c.
    pub(crate) c: u32,
    /// Windows ⌈255/c⌉.
    pub(crate) windows: u32,
    /// Buckets per window 2^(c−1).
    pub(crate) buckets: u32,
    /// Reduction segments per window and their length (both powers of two, product = buckets).
    pub(crate) segments: u32,
    pub(crate) log_seg_len: u32,
}

impl Plan {
    /// c grows with log₂n (more points per bucket pays for more buckets), from 4 to 16 bits;
    /// segments ≈ √buckets balances the two reduction passes.
    pub(crate) fn for_size(n: usize) -> Self {
        let log_n = usize::BITS - n.max(1).leading_zeros();
        Self::with_width(log_n.saturating_sub(3).clamp(4, 16))
    }

    /// The plan for `n` points whose per-bucket buffers fit bindings of `max_words` words:
    /// a narrower window while one window's buckets (or its segment sums) would not fit.
    /// `None` when even 4-bit windows do not fit.
    pub(crate) fn fitted(n: usize, max_words: usize, point_words: usize) -> Option<Self> {
        let mut plan = Self::for_size(n);
        let fits = |p: &Plan| {
            p.buckets as usize * point_words <= max_words
                && 2 * p.segments as usize * point_words <= max_words
        };
        while !fits(&plan) {
            if plan.c <= 4 {
                return None;
            }
            plan = Self::with_width(plan.c - 1);
        }
        Some(plan)
    }

    fn with_width(c: u32) -> Self {
        let buckets = 1u32 << (c - 1);
        let log_segments = (c - 1) / 2;
        Plan {
            c,
            windows: SCALAR_BITS.div_ceil(c),
            buckets,
            segments: 1 << log_segments,
            log_seg_len: c - 1 - log_segments,
        }
    }
}

/// The compiled MSM stages for one group, and its resident bases.
#[derive(Debug)]
pub(crate) struct MsmKernels {
    group: Group,
    digits: Arc<Compiled>,
    scan: Arc<Compiled>,
    buckets: Compiled,
    reduce: Compiled,
    resident: Mutex<Vec<Arc<Resident>>>,
}

/// The group-independent stages (digits, scan), shared by the G1 and G2 kernels.
#[derive(Debug, Clone)]
pub(crate) struct SharedStages {
    digits: Arc<Compiled>,
    scan: Arc<Compiled>,
}

impl SharedStages {
    pub(crate) fn new(gpu: &Gpu) -> Result<Self, KernelError> {
        use Binding::*;
        let digits = gpu.compile(
            Module::MsmDigits,
            &[ReadWrite, ReadOnly, ReadWrite, ReadWrite, ReadWrite, Uniform],
            &["from_mont", "count", "scatter"],
        )?;
        let scan = gpu.compile(Module::MsmScan, &[ReadOnly, ReadWrite, ReadWrite, Uniform], &["scan"])?;
        Ok(Self { digits: Arc::new(digits), scan: Arc::new(scan) })
    }
}

impl MsmKernels {
    pub(crate) fn new(gpu: &Gpu, shared: &SharedStages, group: Group) -> Result<Self, KernelError> {
        use Binding::*;
        let buckets = gpu.compile(
            Module::MsmBuckets(group),
            &[ReadOnly, ReadOnly, ReadOnly, ReadOnly, ReadOnly, ReadWrite, Uniform, ReadWrite],
            &["accumulate"],
        )?;
        let reduce =
            gpu.compile(Module::MsmReduce(group), &[ReadOnly, ReadWrite, ReadWrite, Uniform, ReadWrite], &["segment_sums", "window_sums"])?;
        Ok(Self {
            group,
            digits: shared.digits.clone(),
            scan: shared.scan.clone(),
            buckets,
            reduce,
            resident: Mutex::new(Vec::new()),
        })
    }

    /// `Σ_i s_k[i]·P_i` for every scalar vector `s_k` (each of `bases.len()` entries).
    ///
    /// The bases are resident in chunks of [`chunk_points`]; each chunk is an MSM of its own
    /// (its own window plan) and the chunk results are summed on the host. Within a chunk the
    /// windows run in groups sized so sorted entries, buckets and segment sums fit one binding,
    /// and window sums collect in a result buffer that is read back whenever it is full.
    pub(crate) fn run<C: GpuCurve<ScalarField = Fr>>(
        &self,
        gpu: &Gpu,
        bases: &Bases<Affine<C>>,
        scalars: &[&[Fr]],
    ) -> Result<Vec<Projective<C>>, KernelError> {
        debug_assert_eq!(C::GROUP, self.group);
        let mut totals = vec![Projective::<C>::zero(); scalars.len()];
        if bases.is_empty() || scalars.is_empty() {
            return Ok(totals);
        }
        let resident = self.resident(gpu, bases)?;
        for chunk in &resident.chunks {
            let sums = self.run_chunk::<C>(gpu, chunk, scalars)?;
            for (total, sum) in totals.iter_mut().zip(sums) {
                *total += sum;
            }
        }
        Ok(totals)
    }

    /// The MSMs of one resident chunk against the matching slice of every scalar vector.
    fn run_chunk<C: GpuCurve<ScalarField = Fr>>(
        &self,
        gpu: &Gpu,
        chunk: &ResidentChunk,
        scalars: &[&[Fr]],
    ) -> Result<Vec<Projective<C>>, KernelError> {
        let n = chunk.n;
        let coord_words = self.group.coord_words();
        let point_words = 3 * coord_words;
        let max_words = gpu.max_binding_words();
        let plan = Plan::fitted(n, max_words, point_words).ok_or(KernelError::OutOfMemory {
            requested: 4 * (8 * point_words) as u64,
            available: gpu.max_binding_bytes(),
        })?;
        let buckets = plan.buckets as usize;
        let segments = plan.segments as usize;
        // Windows per group: sorted entries (n per window), buckets and segment sums of the
        // group each fit one binding.
        let chunk_windows = (max_words / n)
            .min(max_words / (buckets * point_words))
            .min(max_words / (2 * segments * point_words))
            .clamp(1, plan.windows as usize) as u32;
        let chunk_keys = chunk_windows as usize * buckets;
        let total_windows = plan.windows as usize * scalars.len();
        // Window sums held on the device between read-backs.
        let slots = (max_words / point_words).clamp(chunk_windows as usize, total_windows);
        let bytes = 4 * (8 * n
            + n * chunk_windows as usize
            + 3 * chunk_keys
            + chunk_keys * point_words
            + chunk_windows as usize * segments * 2 * point_words
            + slots * point_words) as u64;
        let max_run = match (gpu.info.device_type, self.group) {
            (wgpu::DeviceType::Cpu, Group::G1) => CPU_ADAPTER_MAX_RUN,
            (wgpu::DeviceType::Cpu, Group::G2) => CPU_ADAPTER_MAX_RUN_G2,
            _ => 0,
        };
        gpu.scoped(bytes, || {
            let scalar_buf = gpu.storage("scalars", n * 8)?;
            let counts = gpu.storage("bucket counts", chunk_keys)?;
            let offsets = gpu.storage("bucket offsets", chunk_keys)?;
            let cursor = gpu.storage("bucket cursor", chunk_keys)?;
            let entries = gpu.storage("bucket entries", n * chunk_windows as usize)?;
            let bucket_buf = gpu.storage("buckets", chunk_keys * point_words)?;
            let segs = gpu.storage("segment sums", chunk_windows as usize * segments * 2 * point_words)?;
            let results = gpu.storage("window sums", slots * point_words)?;
            let overflow = gpu.storage("loop limit overflow", 1)?;
            // Window sums as they come back: sums[k][w] for scalar vector k, window w.
            let mut sums = vec![vec![Projective::<C>::zero(); plan.windows as usize]; scalars.len()];
            // (vector, first window, windows, first slot) of the results not yet read back.
            let mut pending: Vec<(usize, usize, usize, usize)> = Vec::new();
            let mut used = 0usize;
            let mut encoder = gpu.encoder();
            for (k, s) in scalars.iter().enumerate() {
                let mut words = Vec::with_capacity(n * 8);
                for x in &s[chunk.start..chunk.start + n] {
                    words.extend_from_slice(&montgomery_words(x));
                }
                // Writes are ordered before the next submission, so submit what uses the
                // previous vector's scalars first.
                if k > 0 {
                    gpu.queue.submit([std::mem::replace(&mut encoder, gpu.encoder()).finish()]);
                }
                gpu.queue.write_buffer(&scalar_buf, 0, bytemuck::cast_slice(&words));
                let mut first = 0;
                while first < plan.windows {
                    let windows = chunk_windows.min(plan.windows - first);
                    if used + windows as usize > slots {
                        let done = std::mem::replace(&mut encoder, gpu.encoder());
                        self.read_back::<C>(gpu, done, &results, &overflow, &pending, &mut sums)?;
                        pending.clear();
                        used = 0;
                    }
                    let keys = windows * plan.buckets;
                    let digit_params = gpu.uniform(&[n as u32, plan.c, first, windows, plan.buckets]);
                    let digit_bind =
                        gpu.bind(&self.digits, &[&scalar_buf, &chunk.skip, &counts, &cursor, &entries, &digit_params]);
                    if first == 0 {
                        gpu.dispatch(&mut encoder, &self.digits, "from_mont", &digit_bind, n as u32);
                    }
                    encoder.clear_buffer(&counts, 0, None);
                    gpu.dispatch(&mut encoder, &self.digits, "count", &digit_bind, n as u32);
                    let scan_params = gpu.uniform(&[keys]);
                    let scan_bind = gpu.bind(&self.scan, &[&counts, &offsets, &cursor, &scan_params]);
                    gpu.dispatch_single_group(&mut encoder, &self.scan, "scan", &scan_bind);
                    gpu.dispatch(&mut encoder, &self.digits, "scatter", &digit_bind, n as u32);
                    let bucket_params = gpu.uniform(&[keys, max_run]);
                    let bucket_bind = gpu.bind(
                        &self.buckets,
                        &[&chunk.x, &chunk.y, &offsets, &cursor, &entries, &bucket_buf, &bucket_params, &overflow],
                    );
                    gpu.dispatch(&mut encoder, &self.buckets, "accumulate", &bucket_bind, keys);
                    let reduce_params = gpu.uniform(&[
                        plan.buckets,
                        plan.segments,
                        1 << plan.log_seg_len,
                        plan.log_seg_len,
                        windows,
                        used as u32,
                    ]);
                    let reduce_bind = gpu.bind(&self.reduce, &[&bucket_buf, &segs, &results, &reduce_params, &overflow]);
                    gpu.dispatch(&mut encoder, &self.reduce, "segment_sums", &reduce_bind, windows * plan.segments);
                    gpu.dispatch(&mut encoder, &self.reduce, "window_sums", &reduce_bind, windows);
                    pending.push((k, first as usize, windows as usize, used));
                    used += windows as usize;
                    first += windows;
                }
            }
            self.read_back::<C>(gpu, encoder, &results, &overflow, &pending, &mut sums)?;
            Ok(sums.iter().map(|w| horner(w, plan.c)).collect())
        })
    }

    /// Submits `encoder`, reads the window sums it produced into `sums` — after checking that
    /// no invocation ran into a CPU adapter's loop limit, whose partial sums are not results.
    fn read_back<C: GpuCurve>(
        &self,
        gpu: &Gpu,
        encoder: wgpu::CommandEncoder,
        results: &wgpu::Buffer,
        overflow: &wgpu::Buffer,
        pending: &[(usize, usize, usize, usize)],
        sums: &mut [Vec<Projective<C>>],
    ) -> Result<(), KernelError> {
        let coord_words = self.group.coord_words();
        let point_words = 3 * coord_words;
        let used = pending.iter().map(|p| p.3 + p.2).max().unwrap_or(0);
        let words = gpu.submit_and_read(encoder, results, used * point_words)?;
        let longest = gpu.submit_and_read(gpu.encoder(), overflow, 1)?[0];
        if longest != 0 {
            return Err(KernelError::Unsupported {
                backend: "wgpu".into(),
                reason: format!(
                    "{BUCKET_TOO_LONG}: a kernel ran into this adapter's loop limit (longest bucket flagged: {longest} \
                     points; buckets over {CPU_ADAPTER_MAX_RUN} G1 / {CPU_ADAPTER_MAX_RUN_G2} G2 points are refused)"
                ),
            });
        }
        for &(k, first, windows, slot) in pending {
            for w in 0..windows {
                let at = (slot + w) * point_words;
                sums[k][first + w] = to_arkworks::<C>(&words[at..at + point_words], coord_words)?;
            }
        }
        Ok(())
    }

    fn resident<C: GpuCurve>(&self, gpu: &Gpu, bases: &Bases<Affine<C>>) -> Result<Arc<Resident>, KernelError> {
        let mut list = self.resident.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = list.iter().find(|r| r.id == bases.id() && r.n == bases.len()) {
            return Ok(r.clone());
        }
        let n = bases.len();
        let words = self.group.coord_words();
        let per_chunk = chunk_points(gpu.max_binding_words(), words);
        let bytes = 4 * (2 * words + 1) as u64 * n as u64;
        let r = gpu.scoped(bytes, || {
            let mut chunks = Vec::with_capacity(n.div_ceil(per_chunk));
            for (c, points) in bases.points().chunks(per_chunk).enumerate() {
                let mut xs = Vec::with_capacity(points.len() * words);
                let mut ys = Vec::with_capacity(points.len() * words);
                let mut skip = Vec::with_capacity(points.len());
                for p in points {
                    match p.xy() {
                        Some((x, y)) => {
                            C::push_coord(&x, &mut xs);
                            C::push_coord(&y, &mut ys);
                            skip.push(0);
                        }
                        None => {
                            xs.extend(std::iter::repeat_n(0, words));
                            ys.extend(std::iter::repeat_n(0, words));
                            skip.push(1);
                        }
                    }
                }
                chunks.push(ResidentChunk {
                    start: c * per_chunk,
                    n: points.len(),
                    x: gpu.storage_init("bases x", &xs)?,
                    y: gpu.storage_init("bases y", &ys)?,
                    skip: gpu.storage_init("bases skip", &skip)?,
                });
            }
            Ok(Arc::new(Resident { id: bases.id(), n, chunks }))
        })?;
        if list.len() >= MAX_RESIDENT {
            list.remove(0);
        }
        list.push(r.clone());
        Ok(r)
    }
}

/// Horner's rule over the window sums: `Σ_w 2^(cw)·R_w`.
fn horner<C: GpuCurve>(windows: &[Projective<C>], c: u32) -> Projective<C> {
    let mut acc = Projective::<C>::zero();
    for w in windows.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += w;
    }
    acc
}

/// One window sum from the device, in homogeneous projective coordinates. A point off the
/// curve means the device computed garbage, which is reported rather than returned.
fn to_arkworks<C: GpuCurve>(w: &[u32], coord_words: usize) -> Result<Projective<C>, KernelError> {
    let x = C::coord(&w[..coord_words]);
    let y = C::coord(&w[coord_words..2 * coord_words]);
    let z = C::coord(&w[2 * coord_words..]);
    let Some(z_inv) = z.inverse() else { return Ok(Projective::<C>::zero()) };
    let p = Affine::<C>::new_unchecked(x * z_inv, y * z_inv);
    if !p.is_on_curve() {
        return Err(super::gpu::device_error("the MSM returned a point that is not on the curve"));
    }
    Ok(p.into_group())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_cover_the_scalar_and_split_buckets_evenly() {
        for n in [1usize, 5, 1000, 1025, 1 << 16, 1 << 20, 1 << 22] {
            let p = Plan::for_size(n);
            assert!(p.windows * p.c >= SCALAR_BITS, "n={n}: windows must cover 255 bits");
            assert_eq!(p.segments << p.log_seg_len, p.buckets, "n={n}");
            assert!((4..=16).contains(&p.c));
        }
        assert_eq!(Plan::for_size(1 << 20).c, 16);
    }

    /// With a 4 KiB binding (the split test suite's cap): chunks of 128 G1 / 64 G2 points, and
    /// windows narrowed until one window's buckets and segment sums fit.
    #[test]
    fn plans_fit_a_small_binding() {
        let words = 1024;
        assert_eq!(chunk_points(words, 8), 128);
        assert_eq!(chunk_points(words, 16), 64);
        assert_eq!(1025usize.div_ceil(chunk_points(words, 8)), 9, "n = 1025 runs in 9 chunks");
        for (n, point_words) in [(128usize, 24usize), (64, 48), (1, 24), (1 << 20, 24), (1 << 20, 48)] {
            let p = Plan::fitted(n, words, point_words).expect("fits");
            assert!(p.buckets as usize * point_words <= words, "n={n}: {p:?}");
            assert!(2 * p.segments as usize * point_words <= words, "n={n}: {p:?}");
            assert!(p.windows * p.c >= SCALAR_BITS);
        }
        assert_eq!(Plan::fitted(1 << 20, usize::MAX / 64, 48), Some(Plan::for_size(1 << 20)), "no cap, no change");
        assert_eq!(Plan::fitted(1000, 100, 48), None, "not even 4-bit windows fit 400 bytes");
    }
}
