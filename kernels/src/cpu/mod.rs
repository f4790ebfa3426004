//! The CPU backend: arkworks' Pippenger MSM and our own radix-2 NTT, parallel with rayon.
//!
//! Its own thread pool (sized by [`crate::BackendConfig::cpu_threads`]) keeps a worker's share
//! of the machine bounded. NTT domains (twiddle roots) are built once per size and kept.

mod msm;
mod ntt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{Backend, BackendKind, Fr, G1Bases, G1Projective, G2Bases, G2Projective, KernelError, NttOp};

/// The CPU backend: arkworks' MSM, zkq's NTT, one rayon pool.
#[derive(Debug)]
pub struct CpuBackend {
    pool: rayon::ThreadPool,
    domains: Mutex<HashMap<u32, Arc<ntt::NttDomain>>>,
}

impl CpuBackend {
    /// A CPU backend with `threads` worker threads (`None`: one per core).
    pub fn new(threads: Option<usize>) -> Result<Self, KernelError> {
        let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("zkq-cpu-{i}"));
        if let Some(t) = threads {
            if t == 0 {
                return Err(KernelError::InvalidInput("cpu_threads must be at least 1".into()));
            }
            builder = builder.num_threads(t);
        }
        let pool = builder.build().map_err(|e| KernelError::Unavailable {
            backend: "cpu".into(),
            reason: format!("cannot start thread pool: {e}"),
        })?;
        Ok(Self { pool, domains: Mutex::new(HashMap::new()) })
    }

    fn domain(&self, log_n: u32) -> Result<Arc<ntt::NttDomain>, KernelError> {
        // A poisoned lock only means another thread panicked while inserting; the map itself
        // is still valid, so recover it rather than propagate the panic.
        let mut map = self.domains.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get(&log_n) {
            return Ok(d.clone());
        }
        let d = Arc::new(ntt::NttDomain::new(log_n)?);
        map.insert(log_n, d.clone());
        Ok(d)
    }
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn device_name(&self) -> String {
        format!("cpu ({} threads)", self.pool.current_num_threads())
    }

    fn msm_g1_unchecked(
        &self,
        bases: &G1Bases,
        scalars: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, KernelError> {
        Ok(self.pool.install(|| msm::msm_batch::<G1Projective>(bases.points(), scalars)))
    }

    fn msm_g2_unchecked(
        &self,
        bases: &G2Bases,
        scalars: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, KernelError> {
        Ok(self.pool.install(|| msm::msm_batch::<G2Projective>(bases.points(), scalars)))
    }

    fn ntt_unchecked(&self, vectors: &mut [&mut [Fr]], op: NttOp) -> Result<(), KernelError> {
        let Some(first) = vectors.first() else { return Ok(()) };
        let domain = self.domain(first.len().trailing_zeros())?;
        self.pool.install(|| ntt::ntt_batch(&domain, vectors, op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn backend() -> CpuBackend {
        CpuBackend::new(Some(2)).expect("cpu backend")
    }

    // The generic equivalence checkers, instantiated for the CPU backend. They compare against
    // naive reference implementations (schoolbook DFT, double-and-add sums), not arkworks.
    testing::backend_equivalence_tests!(backend());
}
