//! [`CudaBackend`]: the launches. Everything numeric happens in the kernels (`cuda/`); this file
//! opens the device, compiles or loads the kernels, keeps per-key state resident, and orders the
//! launches — the same order `cuda/host/harness.cpp` follows on the host.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, LaunchConfig, PinnedHostSlice, PushKernelArg,
};
use cudarc::nvrtc::Ptx;

use super::compile::{self, CacheOutcome};
use super::layout::{self, AFFINE_WORDS, FIELD_WORDS, XYZZ_WORDS};
use super::plan::{self, MsmShape};
use super::sources;
use crate::{Backend, BackendKind, CpuBackend, Fr, G1Bases, G1Projective, G2Bases, G2Projective, KernelError, NttOp};

// SAFETY: `MsmShape` is `#[repr(C)]` with six `u32` fields, the layout of `msm_shape_t` in
// cuda/msm/pippenger.cuh; any bit pattern is a valid value.
unsafe impl DeviceRepr for MsmShape {}

/// Share of the device's free memory (percent) the resident precomputed MSM tables may use.
pub const DEFAULT_TABLE_MEMORY_PERCENT: u8 = 50;
/// Proving-key base sets kept resident per device (Groth16 uses four G1 sets per circuit).
const RESIDENT_BASE_SETS: usize = 8;
const BLOCK: u32 = 256;
const SCAN_THREADS: u32 = 1024;

/// How to open the CUDA backend. Read at the binary edge and passed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaConfig {
    /// Device ordinal. Default 0.
    pub device: usize,
    /// Where compiled kernels are cached. Default [`compile::default_cache_dir`]; `None` disables
    /// the cache (every start compiles, about 15 s).
    pub cache_dir: Option<PathBuf>,
    /// Percent of free device memory the resident precomputed tables may take. Default
    /// [`DEFAULT_TABLE_MEMORY_PERCENT`]; less memory means a smaller precomputation factor
    /// (more bucket groups), never a failure.
    pub table_memory_percent: u8,
    /// Compile the portable carry path instead of the PTX carry chains (to tell an arithmetic
    /// bug from a carry-chain bug on a new GPU). Default false.
    pub portable_carry: bool,
    /// CPU threads for the G2 MSM, which runs on the CPU (see the module docs). Default: all.
    pub cpu_threads: Option<usize>,
}

impl Default for CudaConfig {
    fn default() -> Self {
        Self {
            device: 0,
            cache_dir: compile::default_cache_dir(),
            table_memory_percent: DEFAULT_TABLE_MEMORY_PERCENT,
            portable_carry: false,
            cpu_threads: None,
        }
    }
}

fn driver_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> KernelError + '_ {
    move |e| KernelError::Unavailable { backend: "cuda".into(), reason: format!("{what}: {e:?}") }
}

struct Kernels {
    to_plain: CudaFunction,
    count: CudaFunction,
    scatter: CudaFunction,
    scan: CudaFunction,
    chunk_count: CudaFunction,
    accumulate: CudaFunction,
    bucket_sum: CudaFunction,
    reduce: CudaFunction,
    finish: CudaFunction,
    precompute: CudaFunction,
    ntt_stage: CudaFunction,
    ntt_tile: CudaFunction,
}

impl Kernels {
    fn load(module: &Arc<CudaModule>) -> Result<Self, KernelError> {
        let f = |name: &str| module.load_function(name).map_err(|e| KernelError::Compile { log: format!("kernel {name} missing from the module: {e:?}") });
        Ok(Self {
            to_plain: f("zkq_msm_to_plain")?,
            count: f("zkq_msm_count")?,
            scatter: f("zkq_msm_scatter")?,
            scan: f("zkq_scan")?,
            chunk_count: f("zkq_msm_chunk_count")?,
            accumulate: f("zkq_msm_accumulate_chunks")?,
            bucket_sum: f("zkq_msm_bucket_sum")?,
            reduce: f("zkq_msm_reduce")?,
            finish: f("zkq_msm_finish")?,
            precompute: f("zkq_msm_precompute")?,
            ntt_stage: f("zkq_ntt_global_stage")?,
            ntt_tile: f("zkq_ntt_tile")?,
        })
    }
}

/// One proving-key base set on the device, with its working buffers.
struct ResidentG1 {
    shape: MsmShape,
    table: CudaSlice<u32>,
    /// Page-locked staging buffers for the scalars (full PCIe bandwidth, asynchronous copies).
    pinned: [PinnedHostSlice<u32>; 2],
    scalars: [CudaSlice<u32>; 2],
    counts: CudaSlice<u32>,
    offsets: CudaSlice<u32>,
    cursors: CudaSlice<u32>,
    entries: CudaSlice<u32>,
    chunks: CudaSlice<u32>,
    chunk_offsets: CudaSlice<u32>,
    scratch: CudaSlice<u32>,
    /// [entries, chunks] totals written by the two scans.
    totals: CudaSlice<u32>,
    partials: CudaSlice<u32>,
    buckets: CudaSlice<u32>,
    sums: CudaSlice<u32>,
    weighted: CudaSlice<u32>,
}

struct DeviceState {
    resident: Vec<(u64, ResidentG1)>,
    ntt_tables: HashMap<(u32, [u64; 4], u8), NttDeviceTables>,
}

struct NttDeviceTables {
    twiddles: CudaSlice<u32>,
    pre: Option<CudaSlice<u32>>,
    post: Option<CudaSlice<u32>>,
    post_const: Option<CudaSlice<u32>>,
}

/// BN254 kernels on an NVIDIA GPU through cudarc (see the module docs of [`super`]).
pub struct CudaBackend {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    copy_stream: Arc<CudaStream>,
    kernels: Kernels,
    name: String,
    arch: u32,
    cache: CacheOutcome,
    config: CudaConfig,
    cpu: CpuBackend,
    state: Mutex<DeviceState>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend").field("device", &self.name).field("arch", &self.arch).field("cache", &self.cache).finish()
    }
}

impl CudaBackend {
    /// Opens device `config.device`: checks for the driver and NVRTC libraries first (cudarc
    /// panics on a missing library), then the device, then compiles (or loads from the cache)
    /// the kernels for its architecture. Every failure is a typed error, never a panic.
    pub fn open(config: CudaConfig) -> Result<Self, KernelError> {
        // SAFETY: only tries to dlopen the driver library's candidate names.
        if !unsafe { cudarc::driver::sys::is_culib_present() } {
            return Err(KernelError::Unavailable {
                backend: "cuda".into(),
                reason: "no NVIDIA driver library (libcuda.so.1) on this machine".into(),
            });
        }
        if !compile::nvrtc_present() {
            return Err(KernelError::Unavailable {
                backend: "cuda".into(),
                reason: "the NVRTC library (libnvrtc.so.13) was not found: put CUDA 13's lib64 on LD_LIBRARY_PATH".into(),
            });
        }
        let count = CudaContext::device_count().map_err(driver_err("cuInit/cuDeviceGetCount"))?;
        if count <= 0 || config.device >= count as usize {
            return Err(KernelError::Unavailable {
                backend: "cuda".into(),
                reason: format!("device {} requested, {count} CUDA device(s) present", config.device),
            });
        }
        let ctx = CudaContext::new(config.device).map_err(driver_err("creating the CUDA context"))?;
        let (major, minor) = ctx.compute_capability().map_err(driver_err("reading the compute capability"))?;
        let arch = (major * 10 + minor) as u32;
        let defines: &[&str] = if config.portable_carry { &["ZKQ_PORTABLE_CARRY"] } else { &[] };
        let source = sources::translation_unit(defines);
        let (cubin, cache) = compile::cached_cubin(&source, arch, config.cache_dir.as_deref())?;
        let module = ctx.load_module(Ptx::from_binary(cubin)).map_err(|e| KernelError::Compile { log: format!("loading the CUBIN for sm_{arch}: {e:?}") })?;
        let kernels = Kernels::load(&module)?;
        let gpu = ctx.name().unwrap_or_else(|_| "unknown NVIDIA GPU".into());
        let total = ctx.total_mem().unwrap_or(0);
        let name = format!("cuda:{} {gpu} (sm_{arch}, {} MiB)", config.device, total >> 20);
        let stream = ctx.new_stream().map_err(driver_err("creating a stream"))?;
        let copy_stream = ctx.new_stream().map_err(driver_err("creating the copy stream"))?;
        let cpu = CpuBackend::new(config.cpu_threads)?;
        Ok(Self {
            ctx,
            stream,
            copy_stream,
            kernels,
            name,
            arch,
            cache,
            config,
            cpu,
            state: Mutex::new(DeviceState { resident: Vec::new(), ntt_tables: HashMap::new() }),
        })
    }

    /// Whether the kernels came from the disk cache.
    pub fn kernel_cache(&self) -> &CacheOutcome {
        &self.cache
    }

    fn free_memory(&self) -> Result<u64, KernelError> {
        let (free, _total) = self.ctx.mem_get_info().map_err(driver_err("cuMemGetInfo"))?;
        Ok(free as u64)
    }

    fn alloc(&self, words: usize) -> Result<CudaSlice<u32>, KernelError> {
        self.stream.alloc_zeros::<u32>(words.max(1)).map_err(|e| {
            let available = self.free_memory().unwrap_or(0);
            if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                KernelError::OutOfMemory { requested: (words * 4) as u64, available }
            } else {
                KernelError::Unavailable { backend: "cuda".into(), reason: format!("cuMemAlloc: {e:?}") }
            }
        })
    }

    fn upload(&self, words: &[u32]) -> Result<CudaSlice<u32>, KernelError> {
        let mut buf = self.alloc(words.len())?;
        if !words.is_empty() {
            self.stream.memcpy_htod(words, &mut buf).map_err(driver_err("copy to device"))?;
        }
        Ok(buf)
    }

    fn resident<'s>(&self, state: &'s mut DeviceState, bases: &G1Bases) -> Result<&'s ResidentG1, KernelError> {
        if let Some(pos) = state.resident.iter().position(|(id, _)| *id == bases.id()) {
            // most recently used last
            let entry = state.resident.remove(pos);
            state.resident.push(entry);
        } else {
            if state.resident.len() >= RESIDENT_BASE_SETS {
                state.resident.remove(0);
            }
            let entry = self.make_resident(bases)?;
            state.resident.push((bases.id(), entry));
        }
        match state.resident.last() {
            Some((_, r)) => Ok(r),
            None => Err(KernelError::InvalidInput("resident base set vanished".into())),
        }
    }

    fn make_resident(&self, bases: &G1Bases) -> Result<ResidentG1, KernelError> {
        let n = bases.len();
        let budget_bytes = self.free_memory()? / 100 * u64::from(self.config.table_memory_percent.min(90));
        let shape = plan::msm_shape(n, budget_bytes / (AFFINE_WORDS as u64 * 4));
        let mut words = Vec::with_capacity(shape.table_points() as usize * AFFINE_WORDS);
        layout::push_affine(&mut words, bases.points());
        words.resize(shape.table_points() as usize * AFFINE_WORDS, 0);
        let table = self.upload(&words)?;
        if shape.factor > 1 {
            let mut b = self.stream.launch_builder(&self.kernels.precompute);
            b.arg(&shape.n).arg(&shape.c).arg(&shape.factor).arg(&table);
            // SAFETY: `table` holds factor·n affine points, the extent msm_precompute_body writes.
            unsafe { b.launch(grid(shape.n, 128)) }.map_err(driver_err("launching zkq_msm_precompute"))?;
        }
        let buckets = (shape.groups * shape.buckets) as usize;
        let reduced = (shape.groups * shape.segments()) as usize;
        let pinned = |_: usize| {
            // SAFETY: the staging buffer is written in full (`n·8` words) before every copy from it.
            unsafe { self.ctx.alloc_pinned::<u32>((n * FIELD_WORDS).max(1)) }.map_err(driver_err("allocating pinned host memory"))
        };
        Ok(ResidentG1 {
            shape,
            table,
            pinned: [pinned(0)?, pinned(1)?],
            scalars: [self.alloc(n * FIELD_WORDS)?, self.alloc(n * FIELD_WORDS)?],
            counts: self.alloc(buckets)?,
            offsets: self.alloc(buckets)?,
            cursors: self.alloc(buckets)?,
            entries: self.alloc(shape.max_entries() as usize)?,
            chunks: self.alloc(buckets)?,
            chunk_offsets: self.alloc(buckets)?,
            scratch: self.alloc(buckets)?,
            totals: self.alloc(2)?,
            partials: self.alloc(shape.max_chunks() as usize * XYZZ_WORDS)?,
            buckets: self.alloc(buckets * XYZZ_WORDS)?,
            sums: self.alloc(reduced * XYZZ_WORDS)?,
            weighted: self.alloc(reduced * XYZZ_WORDS)?,
        })
    }

    fn msm_one(&self, r: &mut ResidentG1, slot: usize) -> Result<G1Projective, KernelError> {
        let s = r.shape;
        let total = s.groups * s.buckets;
        let segments = s.segments();
        let st = &self.stream;
        let e = |k: &'static str| driver_err(k);
        let scalars = &mut r.scalars[slot];
        {
            let mut b = st.launch_builder(&self.kernels.to_plain);
            b.arg(&mut *scalars).arg(&s.n);
            // SAFETY: `scalars` holds n field elements.
            unsafe { b.launch(grid(s.n, BLOCK)) }.map_err(e("zkq_msm_to_plain"))?;
        }
        st.memset_zeros(&mut r.counts).map_err(e("clearing the bucket counts"))?;
        {
            let mut b = st.launch_builder(&self.kernels.count);
            b.arg(&*scalars).arg(&s).arg(&mut r.counts);
            // SAFETY: `counts` holds groups·buckets counters, the ids msm_count_body produces.
            unsafe { b.launch(grid(s.n, BLOCK)) }.map_err(e("zkq_msm_count"))?;
        }
        let scan_cfg = LaunchConfig { grid_dim: (1, 1, 1), block_dim: (SCAN_THREADS, 1, 1), shared_mem_bytes: SCAN_THREADS * 4 };
        {
            let mut totals = r.totals.slice_mut(0..1);
            let mut b = st.launch_builder(&self.kernels.scan);
            b.arg(&r.counts).arg(&total).arg(&mut r.offsets).arg(&mut r.cursors).arg(&mut totals);
            // SAFETY: one block; `partial` is SCAN_THREADS words of dynamic shared memory; the
            // three buffers hold `total` words, `totals` one.
            unsafe { b.launch(scan_cfg) }.map_err(e("zkq_scan (bucket offsets)"))?;
        }
        {
            let mut b = st.launch_builder(&self.kernels.scatter);
            b.arg(&*scalars).arg(&s).arg(&mut r.cursors).arg(&mut r.entries);
            // SAFETY: `entries` holds windows·n slots, an upper bound on non-zero digits.
            unsafe { b.launch(grid(s.n, BLOCK)) }.map_err(e("zkq_msm_scatter"))?;
        }
        {
            let mut b = st.launch_builder(&self.kernels.chunk_count);
            b.arg(&total).arg(&r.counts).arg(&mut r.chunks);
            // SAFETY: `counts` and `chunks` hold `total` words.
            unsafe { b.launch(grid(total, BLOCK)) }.map_err(e("zkq_msm_chunk_count"))?;
        }
        {
            let mut totals = r.totals.slice_mut(1..2);
            let mut b = st.launch_builder(&self.kernels.scan);
            b.arg(&r.chunks).arg(&total).arg(&mut r.chunk_offsets).arg(&mut r.scratch).arg(&mut totals);
            // SAFETY: as for the first scan.
            unsafe { b.launch(scan_cfg) }.map_err(e("zkq_scan (chunk offsets)"))?;
        }
        let max_chunks = u32::try_from(s.max_chunks()).map_err(|_| KernelError::InvalidInput("MSM too large for 32-bit chunk indices".into()))?;
        {
            let n_chunks = r.totals.slice(1..2);
            let mut b = st.launch_builder(&self.kernels.accumulate);
            b.arg(&total).arg(&n_chunks).arg(&r.offsets).arg(&r.counts).arg(&r.chunk_offsets).arg(&r.entries).arg(&r.table).arg(&mut r.partials);
            // SAFETY: threads beyond the actual chunk count (device word) return at once; every
            // entry indexes the factor·n-point table; `partials` holds max_chunks points.
            unsafe { b.launch(grid(max_chunks, 128)) }.map_err(e("zkq_msm_accumulate_chunks"))?;
        }
        {
            let mut b = st.launch_builder(&self.kernels.bucket_sum);
            b.arg(&total).arg(&r.chunks).arg(&r.chunk_offsets).arg(&r.partials).arg(&mut r.buckets);
            // SAFETY: `buckets` holds `total` points; chunk ranges lie within `partials`.
            unsafe { b.launch(grid(total, 128)) }.map_err(e("zkq_msm_bucket_sum"))?;
        }
        let reduced = s.groups * segments;
        {
            let mut b = st.launch_builder(&self.kernels.reduce);
            b.arg(&s).arg(&segments).arg(&r.buckets).arg(&mut r.sums).arg(&mut r.weighted);
            // SAFETY: `sums` and `weighted` hold groups·segments points.
            unsafe { b.launch(grid(reduced, 64)) }.map_err(e("zkq_msm_reduce"))?;
        }
        {
            let mut b = st.launch_builder(&self.kernels.finish);
            b.arg(&s).arg(&segments).arg(&r.sums).arg(&mut r.weighted);
            // SAFETY: as for the reduce launch.
            unsafe { b.launch(grid(reduced, 64)) }.map_err(e("zkq_msm_finish"))?;
        }
        let finished = st.clone_dtoh(&r.weighted).map_err(e("copying the MSM result back"))?;
        Ok(plan::combine_groups(&s, &finished))
    }

    fn ntt_tables<'s>(&self, state: &'s mut DeviceState, log_n: u32, op: NttOp) -> Result<&'s NttDeviceTables, KernelError> {
        let (tag, shift) = match op {
            NttOp::Forward => (0u8, Fr::from(0u64)),
            NttOp::Inverse => (1, Fr::from(0u64)),
            NttOp::ForwardCoset(g) => (2, g),
            NttOp::InverseCoset(g) => (3, g),
        };
        let key = (log_n, shift.0 .0, tag);
        if !state.ntt_tables.contains_key(&key) {
            let t = plan::ntt_tables(log_n, op)
                .ok_or_else(|| KernelError::InvalidInput(format!("no NTT of size 2^{log_n} with this shift")))?;
            let words = |xs: &[Fr]| {
                let mut w = Vec::new();
                layout::push_scalars(&mut w, xs);
                w
            };
            let tables = NttDeviceTables {
                twiddles: self.upload(&words(&t.twiddles))?,
                pre: t.pre.as_deref().map(|p| self.upload(&words(p))).transpose()?,
                post: t.post.as_deref().map(|p| self.upload(&words(p))).transpose()?,
                post_const: t.post_const.map(|c| self.upload(&words(&[c]))).transpose()?,
            };
            if state.ntt_tables.len() >= 16 {
                state.ntt_tables.clear();
            }
            state.ntt_tables.insert(key, tables);
        }
        state.ntt_tables.get(&key).ok_or_else(|| KernelError::InvalidInput("NTT tables vanished".into()))
    }
}

fn grid(threads: u32, block: u32) -> LaunchConfig {
    LaunchConfig { grid_dim: (threads.div_ceil(block).max(1), 1, 1), block_dim: (block, 1, 1), shared_mem_bytes: 0 }
}

/// A null device pointer for an absent optional table.
const NULL: u64 = 0;

impl Backend for CudaBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cuda
    }

    fn device_name(&self) -> String {
        self.name.clone()
    }

    fn msm_g1_unchecked(&self, bases: &G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, KernelError> {
        if bases.is_empty() {
            return Ok(vec![G1Projective::default(); scalars.len()]);
        }
        let mut state = self.state.lock().map_err(|_| KernelError::InvalidInput("CUDA backend state poisoned".into()))?;
        self.resident(&mut state, bases)?;
        let Some((_, r)) = state.resident.last_mut() else { return Err(KernelError::InvalidInput("no resident set".into())) };
        let mut out = Vec::with_capacity(scalars.len());
        let mut words = Vec::with_capacity(bases.len() * FIELD_WORDS);
        // Scalars go up from page-locked memory on the copy stream, one MSM ahead: while the
        // compute stream works on MSM k, the copy of k + 1 is in flight. The compute stream
        // waits (join) only for the copy it needs.
        let stage = |r: &mut ResidentG1, k: usize, words: &mut Vec<u32>| -> Result<(), KernelError> {
            words.clear();
            layout::push_scalars(words, scalars[k]);
            let slot = k % 2;
            let host = r.pinned[slot].as_mut_slice().map_err(driver_err("mapping pinned memory"))?;
            host[..words.len()].copy_from_slice(words);
            self.copy_stream.memcpy_htod(&r.pinned[slot], &mut r.scalars[slot]).map_err(driver_err("copying scalars"))
        };
        if !scalars.is_empty() {
            stage(r, 0, &mut words)?;
        }
        for k in 0..scalars.len() {
            self.stream.join(&self.copy_stream).map_err(driver_err("ordering the streams"))?;
            if k + 1 < scalars.len() {
                stage(r, k + 1, &mut words)?;
            }
            out.push(self.msm_one(r, k % 2)?);
        }
        Ok(out)
    }

    /// G2 runs on the CPU: it is 2–5 % of a Groth16 proof's MSM work (one G2 MSM over the B
    /// query), and Fq2 arithmetic on the GPU is not written yet.
    fn msm_g2_unchecked(&self, bases: &G2Bases, scalars: &[&[Fr]]) -> Result<Vec<G2Projective>, KernelError> {
        self.cpu.msm_g2_unchecked(bases, scalars)
    }

    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let Some(first) = vectors.first() else { return Ok(()) };
        let n = first.len() as u32;
        if n <= 1 {
            // size 1: the transform is the identity and every scaling is 1
            return Ok(());
        }
        let log_n = n.trailing_zeros();
        let mut state = self.state.lock().map_err(|_| KernelError::InvalidInput("CUDA backend state poisoned".into()))?;
        let tables = self.ntt_tables(&mut state, log_n, op)?;
        let tile = plan::ntt_tile(log_n);
        let global = plan::ntt_global_stages(log_n);
        let mut x = self.alloc(n as usize * FIELD_WORDS)?;
        let mut out = self.alloc(n as usize * FIELD_WORDS)?;
        let mut words = Vec::with_capacity(n as usize * FIELD_WORDS);
        for v in vectors.iter_mut() {
            words.clear();
            layout::push_scalars(&mut words, v);
            self.stream.memcpy_htod(&words, &mut x).map_err(driver_err("copying the NTT input"))?;
            for (i, h) in global.iter().enumerate() {
                let mut b = self.stream.launch_builder(&self.kernels.ntt_stage);
                b.arg(&mut x).arg(&n).arg(h).arg(&tables.twiddles);
                match (&tables.pre, i) {
                    (Some(pre), 0) => b.arg(pre),
                    _ => b.arg(&NULL),
                };
                // SAFETY: `x` holds n elements, twiddles n/2, `pre` n (or null).
                unsafe { b.launch(grid(n / 2, BLOCK)) }.map_err(driver_err("zkq_ntt_global_stage"))?;
            }
            let h_first = tile / 2;
            let mut b = self.stream.launch_builder(&self.kernels.ntt_tile);
            b.arg(&x).arg(&mut out).arg(&n).arg(&log_n).arg(&h_first).arg(&tables.twiddles);
            match (&tables.pre, global.is_empty()) {
                (Some(pre), true) => b.arg(pre),
                _ => b.arg(&NULL),
            };
            match &tables.post {
                Some(p) => b.arg(p),
                None => b.arg(&NULL),
            };
            match &tables.post_const {
                Some(p) => b.arg(p),
                None => b.arg(&NULL),
            };
            let cfg = LaunchConfig {
                grid_dim: (n / tile, 1, 1),
                block_dim: (tile / 2, 1, 1),
                shared_mem_bytes: tile * (FIELD_WORDS as u32) * 4,
            };
            // SAFETY: one block per tile of `tile` elements; the tile (32 bytes per element,
            // at most 32 KiB) in dynamic shared memory; `out` holds n elements.
            unsafe { b.launch(cfg) }.map_err(driver_err("zkq_ntt_tile"))?;
            let back = self.stream.clone_dtoh(&out).map_err(driver_err("copying the NTT result back"))?;
            v.copy_from_slice(&layout::scalars_from_words(&back));
        }
        Ok(())
    }
}
