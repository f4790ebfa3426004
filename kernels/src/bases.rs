//! Fixed MSM bases with a stable identity.
//!
//! Proving-key points do not change across a batch. Wrapping them in [`Bases`] gives each set a
//! process-unique id, so a backend can upload or precompute them once and find its resident
//! copy again by id (GPU backends; CPU precomputation), without any global device state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_BASES_ID: AtomicU64 = AtomicU64::new(1);

/// An immutable, shareable set of affine MSM bases with an identity.
#[derive(Debug, Clone)]
pub struct Bases<A> {
    id: u64,
    points: Arc<[A]>,
}

/// Bases in G1 (proving-key sections A, B1, C, H).
pub type G1Bases = Bases<crate::G1Affine>;
/// Bases in G2 (proving-key section B2).
pub type G2Bases = Bases<crate::G2Affine>;

impl<A> Bases<A> {
    /// Wraps `points` and gives them a fresh id.
    pub fn new(points: Vec<A>) -> Self {
        Self { id: NEXT_BASES_ID.fetch_add(1, Ordering::Relaxed), points: points.into() }
    }

    /// Process-unique identity of this set; clones share it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The points.
    pub fn points(&self) -> &[A] {
        &self.points
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}
