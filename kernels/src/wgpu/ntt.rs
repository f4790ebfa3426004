//! NTT on the device: host side of `wgsl/ntt.wgsl`.
//!
//! A forward transform is `[scale by shiftʲ] → bit-reverse → log₂n butterfly stages`; an inverse
//! one is `bit-reverse → stages with ω⁻¹ → scale by n⁻¹·shift⁻ʲ`. All dispatches of one batch
//! chunk go into one command buffer. Twiddle tables (per size) and scale tables (per size and
//! shift) are computed once on the host from arkworks' roots of unity and stay on the device.
//! A batch is cut into chunks that fit one storage binding.

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
    twiddles: Mutex<HashMap<u32, Arc<Twiddles>>>,
    scales: Mutex<Vec<(ScaleKey, Arc<wgpu::Buffer>)>>,
}

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
    inverse: bool,
    shift: Fr,
}

impl NttKernels {
    pub(crate) fn new(gpu: &Gpu) -> Result<Self, KernelError> {
        let module = gpu.compile(
            Module::Ntt,
            &[Binding::ReadWrite, Binding::ReadOnly, Binding::Uniform],
            &["bit_reverse", "butterfly", "scale"],
        )?;
        Ok(Self { module, twiddles: Mutex::new(HashMap::new()), scales: Mutex::new(Vec::new()) })
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
        gpu.check_binding(bytes)?;
        let per_chunk = ((gpu.max_binding_bytes() / bytes) as usize).clamp(1, vectors.len());
        let twiddles = self.twiddles(gpu, log_n)?;
        let pre = match op {
            NttOp::ForwardCoset(g) => Some(self.scale_table(gpu, ScaleKey { log_n, inverse: false, shift: g })?),
            _ => None,
        };
        let post = match op {
            NttOp::Inverse => Some(self.scale_table(gpu, ScaleKey { log_n, inverse: true, shift: Fr::one() })?),
            NttOp::InverseCoset(g) => Some(self.scale_table(gpu, ScaleKey { log_n, inverse: true, shift: g })?),
            _ => None,
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
                    self.pass(gpu, &mut encoder, "scale", &data, table, [n as u32, log_n, 0, elements]);
                }
                self.pass(gpu, &mut encoder, "bit_reverse", &data, stage_table, [n as u32, log_n, 0, elements]);
                for s in 0..log_n {
                    self.pass(gpu, &mut encoder, "butterfly", &data, stage_table, [n as u32, log_n, 1 << s, butterflies]);
                }
                if let Some(table) = &post {
                    self.pass(gpu, &mut encoder, "scale", &data, table, [n as u32, log_n, 0, elements]);
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
        let bind = gpu.bind(&self.module, &[data, table, &uniform]);
        gpu.dispatch(encoder, &self.module, entry, &bind, threads);
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

    fn scale_table(&self, gpu: &Gpu, key: ScaleKey) -> Result<Arc<wgpu::Buffer>, KernelError> {
        let mut tables = self.scales.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, b)) = tables.iter().find(|(k, _)| *k == key) {
            return Ok(b.clone());
        }
        let n = 1usize << key.log_n;
        let (start, step) = if key.inverse {
            let n_inv = Fr::from(n as u64).inverse().ok_or_else(|| KernelError::InvalidInput("n is zero in Fr".into()))?;
            let shift_inv =
                key.shift.inverse().ok_or_else(|| KernelError::InvalidInput("coset shift must be non-zero".into()))?;
            (n_inv, shift_inv)
        } else {
            (Fr::one(), key.shift)
        };
        let mut words = Vec::with_capacity(n * 8);
        let mut x = start;
        for _ in 0..n {
            words.extend_from_slice(&montgomery_words(&x));
            x *= step;
        }
        let buffer = Arc::new(gpu.storage_init("ntt scale", &words)?);
        if tables.len() >= MAX_SCALE_TABLES {
            tables.remove(0);
        }
        tables.push((key, buffer.clone()));
        Ok(buffer)
    }
}
