//! MSM on the device: host side of the `msm_*.wgsl` stages.
//!
//! Design (cuZK / ZPrize-2023 WebGPU): signed c-bit window digits (|d| ≤ 2^(c−1), so half the
//! buckets), points grouped by bucket with a counting sort (count → scan → scatter), one thread
//! per bucket accumulating with complete mixed additions, and a parallel running-sum bucket
//! reduction (segments, then windows). The host finishes with Horner's rule over ≈255/c window
//! sums. Windows are processed in chunks sized so the sorted entry list fits one storage
//! binding; bases are uploaded once per [`crate::Bases`] id and stay resident for the batch.

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
/// Start of the error reason for an MSM whose bucket exceeds [`CPU_ADAPTER_MAX_RUN`].
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

/// One base set on the device: x and y coordinates in separate buffers (each within the
/// binding limit for twice as many points as one interleaved buffer would be), and a
/// skip flag per point for the identity.
#[derive(Debug)]
struct Resident {
    id: u64,
    n: usize,
    x: wgpu::Buffer,
    y: wgpu::Buffer,
    skip: wgpu::Buffer,
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
        let c = log_n.saturating_sub(3).clamp(4, 16);
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
    pub(crate) fn run<C: GpuCurve<ScalarField = Fr>>(
        &self,
        gpu: &Gpu,
        bases: &Bases<Affine<C>>,
        scalars: &[&[Fr]],
    ) -> Result<Vec<Projective<C>>, KernelError> {
        debug_assert_eq!(C::GROUP, self.group);
        let n = bases.len();
        if n == 0 || scalars.is_empty() {
            return Ok(vec![Projective::<C>::zero(); scalars.len()]);
        }
        let resident = self.resident(gpu, bases)?;
        let plan = Plan::for_size(n);
        let coord_words = self.group.coord_words();
        let point_words = 3 * coord_words;
        // Window chunks: the sorted entries of one chunk (≤ n per window) must fit one binding.
        let max_words = (gpu.max_binding_bytes() / 4) as usize;
        let chunk_windows = (max_words / n).clamp(1, plan.windows as usize) as u32;
        let chunk_keys = (chunk_windows * plan.buckets) as usize;
        gpu.check_binding(4 * (chunk_keys * point_words) as u64)?;
        let bytes = 32 * n as u64 + 4 * (n * chunk_windows as usize + 3 * chunk_keys + chunk_keys * point_words) as u64;
        let total_windows = plan.windows as usize * scalars.len();
        gpu.scoped(bytes, || {
            let scalar_buf = gpu.storage("scalars", n * 8)?;
            let counts = gpu.storage("bucket counts", chunk_keys)?;
            let offsets = gpu.storage("bucket offsets", chunk_keys)?;
            let cursor = gpu.storage("bucket cursor", chunk_keys)?;
            let entries = gpu.storage("bucket entries", n * chunk_windows as usize)?;
            let bucket_buf = gpu.storage("buckets", chunk_keys * point_words)?;
            let segs = gpu.storage("segment sums", (chunk_windows * plan.segments) as usize * 2 * point_words)?;
            let windows_out = gpu.storage("window sums", total_windows * point_words)?;
            let overflow = gpu.storage("bucket overflow", 1)?;
            let max_run = if gpu.info.device_type == wgpu::DeviceType::Cpu { CPU_ADAPTER_MAX_RUN } else { 0 };
            let mut encoder = gpu.encoder();
            for (k, s) in scalars.iter().enumerate() {
                let mut words = Vec::with_capacity(n * 8);
                for x in s.iter() {
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
                    let keys = windows * plan.buckets;
                    let digit_params = gpu.uniform(&[n as u32, plan.c, first, windows, plan.buckets]);
                    let digit_bind = gpu.bind(&self.digits, &[&scalar_buf, &resident.skip, &counts, &cursor, &entries, &digit_params]);
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
                        &[&resident.x, &resident.y, &offsets, &cursor, &entries, &bucket_buf, &bucket_params, &overflow],
                    );
                    gpu.dispatch(&mut encoder, &self.buckets, "accumulate", &bucket_bind, keys);
                    let out_first = k as u32 * plan.windows + first;
                    let reduce_params = gpu.uniform(&[
                        plan.buckets,
                        plan.segments,
                        1 << plan.log_seg_len,
                        plan.log_seg_len,
                        windows,
                        out_first,
                    ]);
                    let reduce_bind = gpu.bind(&self.reduce, &[&bucket_buf, &segs, &windows_out, &reduce_params, &overflow]);
                    gpu.dispatch(&mut encoder, &self.reduce, "segment_sums", &reduce_bind, windows * plan.segments);
                    gpu.dispatch(&mut encoder, &self.reduce, "window_sums", &reduce_bind, windows);
                    first += windows;
                }
            }
            let out = gpu.submit_and_read(encoder, &windows_out, total_windows * point_words)?;
            let longest = gpu.submit_and_read(gpu.encoder(), &overflow, 1)?[0];
            if longest != 0 {
                return Err(KernelError::Unsupported {
                    backend: "wgpu".into(),
                    reason: format!(
                        "{BUCKET_TOO_LONG}: {longest} points in one bucket, this adapter's loops stop after {CPU_ADAPTER_MAX_RUN}"
                    ),
                });
            }
            out.chunks(plan.windows as usize * point_words)
                .map(|w| combine_windows::<C>(w, plan, coord_words))
                .collect()
        })
    }

    fn resident<C: GpuCurve>(&self, gpu: &Gpu, bases: &Bases<Affine<C>>) -> Result<Arc<Resident>, KernelError> {
        let mut list = self.resident.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = list.iter().find(|r| r.id == bases.id() && r.n == bases.len()) {
            return Ok(r.clone());
        }
        let n = bases.len();
        let words = self.group.coord_words();
        let mut xs = Vec::with_capacity(n * words);
        let mut ys = Vec::with_capacity(n * words);
        let mut skip = Vec::with_capacity(n);
        for p in bases.points() {
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
        let bytes = 4 * (xs.len() + ys.len() + skip.len()) as u64;
        let r = gpu.scoped(bytes, || {
            Ok(Arc::new(Resident {
                id: bases.id(),
                n,
                x: gpu.storage_init("bases x", &xs)?,
                y: gpu.storage_init("bases y", &ys)?,
                skip: gpu.storage_init("bases skip", &skip)?,
            }))
        })?;
        if list.len() >= MAX_RESIDENT {
            list.remove(0);
        }
        list.push(r.clone());
        Ok(r)
    }
}

/// Horner's rule over the window sums: `Σ_w 2^(cw)·R_w`. Each sum comes back in homogeneous
/// projective coordinates; a point off the curve means the device computed garbage, which is
/// reported rather than returned.
fn combine_windows<C: GpuCurve>(words: &[u32], plan: Plan, coord_words: usize) -> Result<Projective<C>, KernelError> {
    let mut acc = Projective::<C>::zero();
    for w in words.chunks(3 * coord_words).rev() {
        for _ in 0..plan.c {
            acc.double_in_place();
        }
        acc += to_arkworks::<C>(w, coord_words)?;
    }
    Ok(acc)
}

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
}
