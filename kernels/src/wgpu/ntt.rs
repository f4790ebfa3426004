//! NTT on the device: host side of `wgsl/ntt.wgsl`.
//!
//! A forward transform is `[scale by shiftʲ] → bit-reverse → log₂n butterfly stages`; an inverse
//! one is `bit-reverse → stages with ω⁻¹ → scale by n⁻¹·shift⁻ʲ`. All dispatches of one batch
//! chunk go into one command buffer. Twiddle tables (per size) and scale tables (per size and
//! shift) are computed once on the host from arkworks' roots of unity and stay on the device.
//! A batch is cut into chunks that fit one storage binding.
//!
//! ## Vectors larger than one binding
//! A vector of `n = k·m` elements whose `32n` bytes exceed one binding is transformed in `k`
//! buffers of `m` elements (k the smallest power of two that makes `m` fit). This is the same
//! radix-2 decimation-in-time transform (Cooley, Tukey, "An algorithm for the machine
//! calculation of complex Fourier series", Math. Comp. 19, 1965), cut where Bailey's
//! four-step FFT cuts it (Bailey, "FFTs in external or hierarchical memory", J. Supercomputing
//! 4, 1990): after the bit-reversal permutation, block `b` of `m` consecutive elements holds
//! the interleaved sub-vector `x_j[i] = x[k·i + j]` with `j = rev_k(b)` (the low log₂k index
//! bits reversed become the high ones), in bit-reversed order. So
//! 1. the host uploads sub-vector `j` into buffer `rev_k(j)` (it copies into device words
//!    anyway), and the first log₂m stages are an ordinary size-m NTT of each buffer
//!    (`bit_reverse`, `butterfly` with the size-m twiddles, as `ω_n^(n/2h) = ω_m^(m/2h)`);
//! 2. the last log₂k stages pair buffer `b` with buffer `b + h/m` element by element
//!    (`butterfly_cross`), with twiddle `ω_n^((i mod h)·n/2h)` for global index `i = b·m + p`,
//!    precomputed per stage and buffer as tables of `m` elements;
//! 3. buffer `q` then holds outputs `X[q·m .. (q+1)·m]` in natural order.
//!
//! Coset and `1/n` factors are the unsplit tables cut the same way: the pre-scale `shift^i` by
//! sub-vector (stride k), the post-scale `n⁻¹·shift⁻ⁱ` by block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ark_ff::{FftField, Field, One};

use super::gpu::{Binding, Compiled, Gpu};
use super::shaders::{from_montgomery_words, montgomery_words, Module};
use crate::{Fr, KernelError, NttOp};

/// Bytes of one `Fr` on the device.
const FR_BYTES: u64 = 32;
/// Scale tables kept on the device before the oldest are dropped.
const MAX_SCALE_TABLES: usize = 16;

/// The compiled NTT kernels and their device-resident tables.
#[derive(Debug)]
pub(crate) struct NttKernels {
    module: Compiled,
    /// Binding 3 of every pass but `butterfly_cross`.
    placeholder: wgpu::Buffer,
    /// Cross-stage twiddles of split transforms, per (log₂n, log₂k, inverse).
    cross: Mutex<HashMap<(u32, u32, bool), Arc<CrossTwiddles>>>,
    twiddles: Mutex<HashMap<u32, Arc<Twiddles>>>,
    scales: Mutex<Vec<(ScaleKey, Arc<Vec<wgpu::Buffer>>)>>,
}

/// Per cross stage, per buffer residue, a table of m twiddles (see `NttKernels::cross_twiddles`).
type CrossTwiddles = Vec<Vec<wgpu::Buffer>>;

#[derive(Debug)]
struct Twiddles {
    forward: wgpu::Buffer,
    inverse: wgpu::Buffer,
}

/// Which point-wise factors: `shiftʲ` (forward coset) or `n⁻¹·shift⁻ʲ` (inverse, `shift = 1` for
/// the plain inverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScaleKey {
    log_n: u32,
    /// The table in 2^log_k pieces: by stride (forward: piece j holds the factors of
    /// indices ≡ j mod k) or by block (inverse: piece q holds indices q·m .. (q+1)·m).
    log_k: u32,
    inverse: bool,
    shift: Fr,
}

/// The post-scale of `op` (`n⁻¹·shift⁻ʲ`), if it has one.
fn post_key(op: NttOp, log_n: u32, log_k: u32) -> Option<ScaleKey> {
    match op {
        NttOp::Inverse => Some(ScaleKey { log_n, log_k, inverse: true, shift: Fr::one() }),
        NttOp::InverseCoset(g) => Some(ScaleKey { log_n, log_k, inverse: true, shift: g }),
        _ => None,
    }
}

impl NttKernels {
    pub(crate) fn new(gpu: &Gpu) -> Result<Self, KernelError> {
        let module = gpu.compile(
            Module::Ntt,
            &[Binding::ReadWrite, Binding::ReadOnly, Binding::Uniform, Binding::ReadWrite],
            &["bit_reverse", "butterfly", "scale", "butterfly_cross"],
        )?;
        let placeholder = gpu.storage("ntt placeholder", 1)?;
        Ok(Self {
            module,
            placeholder,
            cross: Mutex::new(HashMap::new()),
            twiddles: Mutex::new(HashMap::new()),
            scales: Mutex::new(Vec::new()),
        })
    }

    /// Applies `op` to every vector (all of one power-of-two length, checked by the caller).
    pub(crate) fn run(&self, gpu: &Gpu, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let Some(first) = vectors.first() else { return Ok(()) };
        let n = first.len();
        if n <= 1 {
            // A length-1 transform is the identity in every variant (x⁰ = 1, n⁻¹ = 1).
            return Ok(());
        }
        let log_n = n.trailing_zeros();
        let bytes = n as u64 * FR_BYTES;
        if bytes > gpu.max_binding_bytes() {
            for v in vectors.iter_mut() {
                self.run_split(gpu, v, op)?;
            }
            return Ok(());
        }
        let per_chunk = ((gpu.max_binding_bytes() / bytes) as usize).clamp(1, vectors.len());
        let twiddles = self.twiddles(gpu, log_n)?;
        let pre = match op {
            NttOp::ForwardCoset(g) => Some(self.scale_table(gpu, ScaleKey { log_n, log_k: 0, inverse: false, shift: g })?),
            _ => None,
        };
        let post = match post_key(op, log_n, 0) {
            Some(key) => Some(self.scale_table(gpu, key)?),
            None => None,
        };
        let inverse = matches!(op, NttOp::Inverse | NttOp::InverseCoset(_));
        let stage_table = if inverse { &twiddles.inverse } else { &twiddles.forward };
        for chunk in vectors.chunks_mut(per_chunk) {
            let batch = chunk.len();
            gpu.scoped(bytes * batch as u64, || {
                let mut words = Vec::with_capacity(batch * n * 8);
                for v in chunk.iter() {
                    for x in v.iter() {
                        words.extend_from_slice(&montgomery_words(x));
                    }
                }
                let data = gpu.storage_init("ntt data", &words)?;
                drop(words);
                let elements = (batch * n) as u32;
                let butterflies = (batch * n / 2) as u32;
                let mut encoder = gpu.encoder();
                if let Some(table) = &pre {
                    self.pass(gpu, &mut encoder, "scale", &data, &table[0], [n as u32, log_n, 0, elements]);
                }
                self.pass(gpu, &mut encoder, "bit_reverse", &data, stage_table, [n as u32, log_n, 0, elements]);
                for s in 0..log_n {
                    self.pass(gpu, &mut encoder, "butterfly", &data, stage_table, [n as u32, log_n, 1 << s, butterflies]);
                }
                if let Some(table) = &post {
                    self.pass(gpu, &mut encoder, "scale", &data, &table[0], [n as u32, log_n, 0, elements]);
                }
                let out = gpu.submit_and_read(encoder, &data, batch * n * 8)?;
                for (v, words) in chunk.iter_mut().zip(out.chunks(n * 8)) {
                    for (x, w) in v.iter_mut().zip(words.chunks(8)) {
                        *x = from_montgomery_words(w);
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn pass(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        entry: &str,
        data: &wgpu::Buffer,
        table: &wgpu::Buffer,
        params: [u32; 4],
    ) {
        let threads = params[3];
        let uniform = gpu.uniform(&params);
        let bind = gpu.bind(&self.module, &[data, table, &uniform, &self.placeholder]);
        gpu.dispatch(encoder, &self.module, entry, &bind, threads);
    }

    /// One vector larger than one binding, in `k` buffers (see the module docs).
    fn run_split(&self, gpu: &Gpu, v: &mut [Fr], op: NttOp) -> Result<(), KernelError> {
        let n = v.len();
        let log_n = n.trailing_zeros();
        // The smallest power-of-two k whose blocks of m = n/k elements fit one binding.
        let fit = (gpu.max_binding_bytes() / FR_BYTES).max(1);
        let log_m = (u64::BITS - 1 - fit.leading_zeros()).min(log_n);
        if log_m == 0 {
            return Err(KernelError::OutOfMemory { requested: FR_BYTES * 2, available: gpu.max_binding_bytes() });
        }
        let log_k = log_n - log_m;
        let (m, k) = (1usize << log_m, 1usize << log_k);
        let inverse = matches!(op, NttOp::Inverse | NttOp::InverseCoset(_));
        let twiddles = self.twiddles(gpu, log_m)?;
        let stage_table = if inverse { &twiddles.inverse } else { &twiddles.forward };
        let cross = self.cross_twiddles(gpu, log_n, log_k, inverse)?;
        let pre = match op {
            NttOp::ForwardCoset(g) => Some(self.scale_table(gpu, ScaleKey { log_n, log_k, inverse: false, shift: g })?),
            _ => None,
        };
        let post = match post_key(op, log_n, log_k) {
            Some(key) => Some(self.scale_table(gpu, key)?),
            None => None,
        };
        let rev = |b: usize| if log_k == 0 { b } else { b.reverse_bits() >> (usize::BITS - log_k) };
        gpu.scoped(n as u64 * FR_BYTES, || {
            // Buffer b holds sub-vector rev_k(b): x[k·i + rev_k(b)], i < m.
            let mut blocks = Vec::with_capacity(k);
            for b in 0..k {
                let j = rev(b);
                let mut words = Vec::with_capacity(m * 8);
                for i in 0..m {
                    words.extend_from_slice(&montgomery_words(&v[k * i + j]));
                }
                blocks.push(gpu.storage_init("ntt block", &words)?);
            }
            let mut encoder = gpu.encoder();
            let elements = m as u32;
            for (b, block) in blocks.iter().enumerate() {
                if let Some(tables) = &pre {
                    self.pass(gpu, &mut encoder, "scale", block, &tables[rev(b)], [m as u32, log_m, 0, elements]);
                }
                self.pass(gpu, &mut encoder, "bit_reverse", block, stage_table, [m as u32, log_m, 0, elements]);
                for s in 0..log_m {
                    self.pass(gpu, &mut encoder, "butterfly", block, stage_table, [m as u32, log_m, 1 << s, elements / 2]);
                }
            }
            for (stage, tables) in cross.iter().enumerate() {
                // Half-width h = 2^stage·m: buffer b pairs with b + H, H = h/m.
                let pair = 1usize << stage;
                for b in (0..k).filter(|b| b % (2 * pair) < pair) {
                    let uniform = gpu.uniform(&[m as u32, log_m, 0, elements]);
                    let bind = gpu.bind(&self.module, &[&blocks[b], &tables[b % pair], &uniform, &blocks[b + pair]]);
                    gpu.dispatch(&mut encoder, &self.module, "butterfly_cross", &bind, elements);
                }
            }
            if let Some(tables) = &post {
                for (q, block) in blocks.iter().enumerate() {
                    self.pass(gpu, &mut encoder, "scale", block, &tables[q], [m as u32, log_m, 0, elements]);
                }
            }
            gpu.queue.submit([encoder.finish()]);
            for (q, block) in blocks.iter().enumerate() {
                let out = gpu.submit_and_read(gpu.encoder(), block, m * 8)?;
                for (x, w) in v[q * m..(q + 1) * m].iter_mut().zip(out.chunks(8)) {
                    *x = from_montgomery_words(w);
                }
            }
            Ok(())
        })
    }

    /// The twiddles of the last `log_k` stages of a split size-2^log_n transform: for stage
    /// `s` (half-width h = 2^s·m) and buffer residue r < 2^s, the m factors
    /// `ω_2h^(r·m + p)`, p < m (ω_n^((i mod h)·n/2h) with i mod h = r·m + p).
    fn cross_twiddles(
        &self,
        gpu: &Gpu,
        log_n: u32,
        log_k: u32,
        inverse: bool,
    ) -> Result<Arc<CrossTwiddles>, KernelError> {
        let mut map = self.cross.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(&(log_n, log_k, inverse)) {
            return Ok(t.clone());
        }
        let m = 1usize << (log_n - log_k);
        let mut stages = Vec::with_capacity(log_k as usize);
        for s in 0..log_k {
            let h = m << s;
            let root = Fr::get_root_of_unity(2 * h as u64)
                .ok_or_else(|| KernelError::InvalidInput(format!("no {}-th root of unity in Fr", 2 * h)))?;
            let root = if inverse {
                root.inverse().ok_or_else(|| KernelError::InvalidInput("root of unity is zero".into()))?
            } else {
                root
            };
            let mut pieces = Vec::with_capacity(1 << s);
            let mut x = Fr::one();
            for _ in 0..(1usize << s) {
                let mut words = Vec::with_capacity(m * 8);
                for _ in 0..m {
                    words.extend_from_slice(&montgomery_words(&x));
                    x *= root;
                }
                pieces.push(gpu.storage_init("ntt cross twiddles", &words)?);
            }
            stages.push(pieces);
        }
        let t = Arc::new(stages);
        map.insert((log_n, log_k, inverse), t.clone());
        Ok(t)
    }

    fn twiddles(&self, gpu: &Gpu, log_n: u32) -> Result<Arc<Twiddles>, KernelError> {
        let mut map = self.twiddles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = map.get(&log_n) {
            return Ok(t.clone());
        }
        let n = 1u64 << log_n;
        let omega = Fr::get_root_of_unity(n).ok_or_else(|| {
            KernelError::InvalidInput(format!("no 2^{log_n}-th root of unity in Fr"))
        })?;
        let powers = |w: Fr| -> Vec<u32> {
            let mut out = Vec::with_capacity(n as usize / 2 * 8);
            let mut x = Fr::one();
            for _ in 0..n / 2 {
                out.extend_from_slice(&montgomery_words(&x));
                x *= w;
            }
            out
        };
        let inv = omega.inverse().ok_or_else(|| KernelError::InvalidInput("root of unity is zero".into()))?;
        let t = Arc::new(Twiddles {
            forward: gpu.storage_init("twiddles", &powers(omega))?,
            inverse: gpu.storage_init("inverse twiddles", &powers(inv))?,
        });
        map.insert(log_n, t.clone());
        Ok(t)
    }

    fn scale_table(&self, gpu: &Gpu, key: ScaleKey) -> Result<Arc<Vec<wgpu::Buffer>>, KernelError> {
        let mut tables = self.scales.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = tables.iter().find(|(k, _)| *k == key) {
            return Ok(b.clone());
        }
        let n = 1usize << key.log_n;
        let (k, m) = (1usize << key.log_k, n >> key.log_k);
        let (start, step) = if key.inverse {
            let n_inv = Fr::from(n as u64).inverse().ok_or_else(|| KernelError::InvalidInput("n is zero in Fr".into()))?;
            let shift_inv =
                key.shift.inverse().ok_or_else(|| KernelError::InvalidInput("coset shift must be non-zero".into()))?;
            (n_inv, shift_inv)
        } else {
            (Fr::one(), key.shift)
        };
        let mut factors = Vec::with_capacity(n);
        let mut x = start;
        for _ in 0..n {
            factors.push(x);
            x *= step;
        }
        let mut pieces = Vec::with_capacity(k);
        for piece in 0..k {
            let mut words = Vec::with_capacity(m * 8);
            for i in 0..m {
                let at = if key.inverse { piece * m + i } else { k * i + piece };
                words.extend_from_slice(&montgomery_words(&factors[at]));
            }
            pieces.push(gpu.storage_init("ntt scale", &words)?);
        }
        let buffer = Arc::new(pieces);
        if tables.len() >= MAX_SCALE_TABLES {
            tables.remove(0);
        }
        tables.push((key, buffer.clone()));
        Ok(buffer)
    }
}
