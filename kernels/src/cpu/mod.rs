//! The CPU backend: zkq's own signed-digit, batch-affine Pippenger MSM and radix-4 NTT,
//! parallel with rayon.
//!
//! Its own thread pool (sized by [`crate::BackendConfig::cpu_threads`]) keeps a worker's share
//! of the machine bounded. NTT domains (twiddles) are built once per size and kept.
//!
//! ## Resident, prepared proving keys
//! MSM bases are fixed across a batch and across batches of one circuit. The backend keeps a
//! fixed-base table ([`fixed_base`]: `2^{cj}·P_i` for every window `j`) per [`crate::Bases`]
//! id, so every window of an MSM shares one bucket set. A table costs `W ≈ 16–22` points per
//! base (a 2^16-point G1 key section ≈ 64 MiB) and about 255 doublings per base to build
//! (≈ 1 s per 2^16 G1 points per core), so the backend builds one
//! - when asked ([`crate::Backend::prepare_g1`] / [`crate::Backend::prepare_g2`]: a warm engine
//!   prepares its key once), or
//! - on its own once one set of bases has been used with [`CpuOptions::prepare_after`] scalar
//!   vectors (a long-lived worker gets there after a few batches; a one-shot `zkq prove` never
//!   does, so it pays nothing for it).
//!
//! Tables live within [`CpuOptions::precompute_budget_bytes`]; the least recently used table
//! is evicted to make room, and bases whose table does not fit take the variable-base path.
//!
//! ## SIMD lanes (AVX-512 IFMA)
//! On a CPU with AVX-512F and AVX-512 IFMA (checked at run time) bucket additions run eight at
//! a time in 52-bit-digit arithmetic (`ifma`, `lane_field`, `lane_bucket`): tables of at least
//! [`CpuOptions::simd_min_table_points`] bases are kept in that form only, and a vector
//! without a table takes the lanes from [`CpuOptions::simd_min_variable_points`] general
//! scalars. [`CpuOptions::simd`] turns it off; elsewhere everything is the scalar path.
//!
//! ## Module map
//! - [`msm`] — classification (0, ±1, general), signed digits, variable- and fixed-base paths.
//! - [`bucket`] — batch-affine bucket accumulation and the running-sum reduction.
//! - `ifma` — BN254 base-field arithmetic eight elements at a time with AVX-512 IFMA
//!   (x86-64; used when the CPU has it, checked at run time).
//! - `lane_field` — `Fq` and `Fq2` (G1's and G2's coordinates) as `ifma` lane vectors.
//! - `lane_bucket` — the fixed-base bucket accumulation on lanes, for G1 and G2.
//! - [`fixed_base`] — precomputed tables and their budgeted cache.
//! - [`ntt`] — radix-4 DIF/DIT NTTs with fused scaling, and the permutation-free resample.

mod bucket;
mod fixed_base;
#[cfg(target_arch = "x86_64")]
mod ifma;
#[cfg(target_arch = "x86_64")]
mod lane_bucket;
#[cfg(target_arch = "x86_64")]
mod lane_field;
mod msm;
mod ntt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ark_bn254::{g1, g2};
use ark_ec::short_weierstrass::Affine;

use crate::{Backend, BackendKind, Bases, Fr, G1Bases, G1Projective, G2Bases, G2Projective, KernelError, NttOp};
use fixed_base::{CachedCurve, FixedBaseTable, TableCache};

/// Default byte budget for fixed-base tables: 1 GiB, enough for every section of a 2^16
/// circuit's key (about 300 MiB when all of A, B1, C, H are dense) with room for a second key.
pub const DEFAULT_PRECOMPUTE_BUDGET_BYTES: usize = 1 << 30;

/// Default number of scalar vectors one set of bases is used with before the backend builds
/// its table unasked: 64, about where the table's build time is paid back at 2^16.
pub const DEFAULT_PREPARE_AFTER: usize = 64;

/// CPU backend options, with documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuOptions {
    /// Worker threads. Default `None`: one per core.
    pub threads: Option<usize>,
    /// Most bytes of fixed-base tables kept. Default [`DEFAULT_PRECOMPUTE_BUDGET_BYTES`];
    /// `0` disables precomputation.
    pub precompute_budget_bytes: usize,
    /// Build a set of bases' table unasked after this many scalar vectors. Default
    /// [`DEFAULT_PREPARE_AFTER`]; `usize::MAX`: only when asked.
    pub prepare_after: usize,
    /// Run MSM bucket additions eight at a time with AVX-512 IFMA when the CPU has it
    /// (checked at run time). A table then holds its points in the 52-bit-digit form only
    /// (80 bytes per G1 point, 160 per G2 point, against 72 and 136). Default `true`;
    /// `false` keeps the scalar path everywhere.
    pub simd: bool,
    /// Fewest bases (not at infinity) for a fixed-base table to be kept, and run, on lanes.
    /// Default [`DEFAULT_SIMD_MIN_TABLE_POINTS`].
    pub simd_min_table_points: usize,
    /// Fewest general scalars (neither 0 nor ±1) for a vector without a table to run on
    /// lanes. Default [`DEFAULT_SIMD_MIN_VARIABLE_POINTS`].
    pub simd_min_variable_points: usize,
}

/// Default [`CpuOptions::simd_min_table_points`]: 1024. Measured on a 2-vCPU Xeon with IFMA,
/// one vector, scalar against lanes: G1 2^8 1.02 / 1.38 ms, 2^10 3.12 / 3.21 ms, 2^12
/// 10.5 / 6.0 ms; G2 2^8 2.97 / 3.52 ms, 2^10 9.38 / 7.89 ms.
pub const DEFAULT_SIMD_MIN_TABLE_POINTS: usize = 1 << 10;

/// Default [`CpuOptions::simd_min_variable_points`]: 2048. Without a table every window has a
/// small bucket set of its own, which lanes run less well: measured as above, G1 2^10
/// 5.5 / 6.9 ms, 2^12 14.8 / 12.4 ms; G2 2^10 15.7 / 18.4 ms, 2^12 44.0 / 27.2 ms.
pub const DEFAULT_SIMD_MIN_VARIABLE_POINTS: usize = 1 << 11;

impl Default for CpuOptions {
    fn default() -> Self {
        Self {
            threads: None,
            precompute_budget_bytes: DEFAULT_PRECOMPUTE_BUDGET_BYTES,
            prepare_after: DEFAULT_PREPARE_AFTER,
            simd: true,
            simd_min_table_points: DEFAULT_SIMD_MIN_TABLE_POINTS,
            simd_min_variable_points: DEFAULT_SIMD_MIN_VARIABLE_POINTS,
        }
    }
}

/// The CPU backend: zkq's MSM and NTT, one rayon pool, resident fixed-base tables.
#[derive(Debug)]
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    options: CpuOptions,
    domains: Mutex<HashMap<u32, Arc<ntt::NttDomain>>>,
    tables: Mutex<TableCache>,
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: the maps
/// behind these locks are valid after any completed insert.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CpuBackend {
    /// A CPU backend with `threads` worker threads (`None`: one per core) and default options.
    pub fn new(threads: Option<usize>) -> Result<Self, KernelError> {
        Self::with_options(CpuOptions { threads, ..CpuOptions::default() })
    }

    /// A CPU backend with explicit options.
    pub fn with_options(options: CpuOptions) -> Result<Self, KernelError> {
        let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("zkq-cpu-{i}"));
        if let Some(t) = options.threads {
            if t == 0 {
                return Err(KernelError::InvalidInput("cpu_threads must be at least 1".into()));
            }
            builder = builder.num_threads(t);
        }
        let pool = builder.build().map_err(|e| KernelError::Unavailable {
            backend: "cpu".into(),
            reason: format!("cannot start thread pool: {e}"),
        })?;
        Ok(Self { pool, options, domains: Mutex::new(HashMap::new()), tables: Mutex::new(TableCache::default()) })
    }

    /// Fewest points for an MSM on lanes, with and without a table (`usize::MAX` with
    /// `simd` off).
    fn lanes_from(&self) -> (usize, usize) {
        if self.options.simd {
            (self.options.simd_min_table_points, self.options.simd_min_variable_points)
        } else {
            (usize::MAX, usize::MAX)
        }
    }

    /// The options this backend runs with.
    pub fn options(&self) -> CpuOptions {
        self.options
    }

    fn domain(&self, log_n: u32) -> Result<Arc<ntt::NttDomain>, KernelError> {
        if let Some(d) = lock(&self.domains).get(&log_n) {
            return Ok(d.clone());
        }
        // Built without the lock held: building runs on rayon, and a rayon worker waiting in a
        // parallel section may steal a job that asks for a domain (see `NttDomain::scale_table`).
        let d = Arc::new(ntt::NttDomain::new(log_n)?);
        Ok(lock(&self.domains).entry(log_n).or_insert(d).clone())
    }

    /// Builds and caches the table for `bases` if it fits the budget (on the pool).
    fn build_table<P: CachedCurve>(&self, bases: &Bases<Affine<P>>) -> Option<Arc<FixedBaseTable<P>>> {
        let lanes_from = self.lanes_from().0;
        let c = FixedBaseTable::<P>::choose_window(bases.points(), self.options.precompute_budget_bytes, lanes_from)?;
        let table = Arc::new(self.pool.install(|| FixedBaseTable::build(bases.points(), c, lanes_from)));
        lock(&self.tables).insert(bases.id(), table.clone(), self.options.precompute_budget_bytes).then_some(table)
    }

    /// The table to use for an MSM of `vectors` scalar vectors over `bases`: a cached one, or
    /// one built now when the prepare-after policy says so.
    fn table_for<P: CachedCurve>(&self, bases: &Bases<Affine<P>>, vectors: usize) -> Option<Arc<FixedBaseTable<P>>> {
        if self.options.precompute_budget_bytes == 0 {
            return None;
        }
        let uses = {
            let mut cache = lock(&self.tables);
            if let Some(t) = cache.get::<P>(bases.id()) {
                return Some(t);
            }
            cache.count_use(bases.id(), vectors)
        };
        (uses >= self.options.prepare_after).then(|| self.build_table(bases)).flatten()
    }

    fn prepare<P: CachedCurve>(&self, bases: &Bases<Affine<P>>) {
        if self.options.precompute_budget_bytes == 0 || bases.is_empty() || lock(&self.tables).has(bases.id()) {
            return;
        }
        self.build_table(bases);
    }

    fn msm<P>(&self, bases: &Bases<Affine<P>>, scalars: &[&[Fr]]) -> Vec<ark_ec::short_weierstrass::Projective<P>>
    where
        P: CachedCurve + ark_ec::short_weierstrass::SWCurveConfig<ScalarField = Fr>,
    {
        let table = self.table_for(bases, scalars.len());
        self.pool.install(|| msm::msm_batch(bases.points(), table.as_deref(), scalars, self.lanes_from().1))
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn device_name(&self) -> String {
        format!("cpu ({} threads)", self.pool.current_num_threads())
    }

    fn msm_g1_unchecked(&self, bases: &G1Bases, scalars: &[&[Fr]]) -> Result<Vec<G1Projective>, KernelError> {
        Ok(self.msm::<g1::Config>(bases, scalars))
    }

    fn msm_g2_unchecked(&self, bases: &G2Bases, scalars: &[&[Fr]]) -> Result<Vec<G2Projective>, KernelError> {
        Ok(self.msm::<g2::Config>(bases, scalars))
    }

    fn prepare_g1(&self, bases: &G1Bases) -> Result<(), KernelError> {
        self.prepare::<g1::Config>(bases);
        Ok(())
    }

    fn prepare_g2(&self, bases: &G2Bases) -> Result<(), KernelError> {
        self.prepare::<g2::Config>(bases);
        Ok(())
    }

    fn resident_bytes(&self) -> usize {
        lock(&self.tables).bytes()
    }

    fn ntt_resample_unchecked(&self, vectors: &mut [&mut [Fr]], shift: Fr) -> Result<(), KernelError> {
        let Some(first) = vectors.first() else {
            return Ok(());
        };
        let domain = self.domain(first.len().trailing_zeros())?;
        self.pool.install(|| ntt::resample_batch(&domain, vectors, shift));
        Ok(())
    }

    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let Some(first) = vectors.first() else {
            return Ok(());
        };
        let domain = self.domain(first.len().trailing_zeros())?;
        self.pool.install(|| ntt::ntt_batch(&domain, vectors, op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CPU backend for the equivalence suites: `threads` threads, tables built on first
    /// use when `fixed`, and every MSM on SIMD lanes when `lanes` (on a CPU with AVX-512 IFMA;
    /// elsewhere the scalar path). Without `lanes` no MSM goes there: the checkers' sizes are
    /// at most 1025 points, some of them at infinity.
    fn suite_backend(threads: usize, fixed: bool, lanes: bool) -> CpuBackend {
        CpuBackend::with_options(CpuOptions {
            threads: Some(threads),
            prepare_after: if fixed { 1 } else { CpuOptions::default().prepare_after },
            simd_min_table_points: if lanes { 1 } else { usize::MAX },
            simd_min_variable_points: if lanes { 1 } else { usize::MAX },
            ..CpuOptions::default()
        })
        .expect("cpu backend")
    }

    // The generic equivalence checkers compare against naive reference implementations
    // (schoolbook DFT, double-and-add sums), not arkworks.

    /// The variable-base path (no set of bases is used often enough to be prepared), scalar.
    mod variable_bases {
        crate::testing::backend_equivalence_tests!(super::suite_backend(2, false, false));
    }

    /// The variable-base path on SIMD lanes.
    mod variable_bases_lanes {
        crate::testing::backend_equivalence_tests!(super::suite_backend(2, false, true));
    }

    /// Every set of bases is prepared on first use: the fixed-base path, scalar.
    mod fixed_bases {
        crate::testing::backend_equivalence_tests!(super::suite_backend(2, true, false));
    }

    /// The fixed-base path on SIMD lanes.
    mod fixed_bases_lanes {
        crate::testing::backend_equivalence_tests!(super::suite_backend(2, true, true));
    }

    /// More threads than vectors: each vector's fixed-base MSM is split into runs of scalars
    /// (on lanes where the CPU has them).
    mod fixed_bases_split {
        crate::testing::backend_equivalence_tests!(super::suite_backend(7, true, true));
    }

    /// A budget too small for any table falls back to the variable-base path; explicit
    /// preparation fills the cache and counts its bytes.
    #[test]
    fn budget_and_prepare() {
        use ark_ec::{CurveGroup, PrimeGroup};
        let points: Vec<crate::G1Affine> =
            (1..=50u64).map(|i| (G1Projective::generator() * Fr::from(i)).into_affine()).collect();
        let bases = Bases::new(points);
        let scalars: Vec<Fr> = (0..50u64).map(|i| Fr::from(i * i + 3)).collect();
        let want = CpuBackend::new(Some(2)).expect("cpu").msm_g1(&bases, &[&scalars]).expect("msm")[0];

        let tiny = CpuBackend::with_options(CpuOptions {
            threads: Some(2),
            precompute_budget_bytes: 100,
            prepare_after: 0,
            ..CpuOptions::default()
        })
        .expect("cpu");
        tiny.prepare_g1(&bases).expect("prepare");
        assert_eq!(tiny.resident_bytes(), 0, "nothing fits in 100 bytes");
        assert_eq!(tiny.msm_g1(&bases, &[&scalars]).expect("msm")[0], want);

        let warm = CpuBackend::with_options(CpuOptions {
            threads: Some(2),
            prepare_after: usize::MAX,
            ..CpuOptions::default()
        })
        .expect("cpu");
        assert_eq!(warm.msm_g1(&bases, &[&scalars]).expect("msm")[0], want);
        assert_eq!(warm.resident_bytes(), 0, "not prepared unasked");
        warm.prepare_g1(&bases).expect("prepare");
        assert!(warm.resident_bytes() > 0, "prepared on request");
        assert_eq!(warm.msm_g1(&bases, &[&scalars, &scalars]).expect("msm"), vec![want, want]);
    }
}
