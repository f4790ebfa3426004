//! Fixed-base precomputation for MSM bases that stay the same across proofs.
//!
//! A [`FixedBaseTable`] of window `c` holds, for every base `P_i` not at infinity and every
//! window `j < W`, the point `2^{cj}·P_i` in affine form, laid out base after base
//! (`slot_i·W + j`), so a signed-digit MSM puts all windows into one bucket set
//! ([`super::msm`]). It costs `W` points per base of memory and `≈ 255` doublings per base to
//! build, and saves `W − 1` bucket reductions and all `≈ 255` Horner doublings per MSM, and
//! lets the window be wider.
//!
//! [`TableCache`] keeps the tables a backend has built, keyed by [`crate::Bases::id`], within
//! a byte budget, evicting the least recently used table when a new one does not fit.

use std::collections::HashMap;
use std::sync::Arc;

use ark_bn254::{g1, g2};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::AdditiveGroup;
use rayon::prelude::*;

use super::msm::{best_window, windows_for};

/// Bases precomputed per parallel task.
const BUILD_CHUNK: usize = 256;

/// Precomputed multiples `2^{cj}·P_i` of a fixed set of bases.
pub(super) struct FixedBaseTable<P: SWCurveConfig> {
    window: u32,
    windows: usize,
    /// Slot of each base in `points`, `u32::MAX` for bases at infinity (never looked up).
    slots: Vec<u32>,
    /// `2^{window·j}·P_i` at `slot_i·windows + j`; empty when the table holds `lanes`.
    points: Vec<Affine<P>>,
    /// The same points in the AVX-512 IFMA lane form ([`super::lane_bucket`]) instead, on CPUs
    /// that have it.
    lanes: Option<Vec<u64>>,
}

impl<P: SWCurveConfig> std::fmt::Debug for FixedBaseTable<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBaseTable")
            .field("window", &self.window)
            .field("windows", &self.windows)
            .field("bases", &self.slots.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl<P: SWCurveConfig> FixedBaseTable<P> {
    /// Whether a table of `nonzero` bases keeps its points in lane form: at least
    /// `lanes_from` bases (`usize::MAX`: never), and a group and CPU that have one.
    fn uses_lanes(nonzero: usize, lanes_from: usize) -> bool
    where
        P: CachedCurve,
    {
        nonzero >= lanes_from && P::lane_point_bytes() > 0
    }

    /// Bytes a table of `nonzero` bases with window `c` takes (in lane form where
    /// [`FixedBaseTable::uses_lanes`]).
    pub(super) fn bytes_for(nonzero: usize, bases: usize, c: u32, lanes_from: usize) -> usize
    where
        P: CachedCurve,
    {
        let lane_bytes = if Self::uses_lanes(nonzero, lanes_from) { P::lane_point_bytes() } else { 0 };
        let per_point = if lane_bytes > 0 { lane_bytes } else { std::mem::size_of::<Affine<P>>() };
        nonzero * windows_for(c) * per_point + bases * std::mem::size_of::<u32>()
    }

    /// The window with the lowest estimated MSM cost whose table fits in `budget` bytes, or
    /// `None` when even the widest window does not fit.
    pub(super) fn choose_window(bases: &[Affine<P>], budget: usize, lanes_from: usize) -> Option<u32>
    where
        P: CachedCurve,
    {
        let nonzero = bases.iter().filter(|b| !b.is_zero()).count();
        best_window(nonzero, true, Self::uses_lanes(nonzero, lanes_from), |c| {
            Self::bytes_for(nonzero, bases.len(), c, lanes_from) <= budget
                && (nonzero as u64) * (windows_for(c) as u64) < (1u64 << 31)
        })
    }

    /// Builds the table for window `c` (in parallel on the current rayon pool), keeping the
    /// points in lane form instead where [`FixedBaseTable::uses_lanes`].
    pub(super) fn build(bases: &[Affine<P>], c: u32, lanes_from: usize) -> Self
    where
        P: CachedCurve,
    {
        let windows = windows_for(c);
        let mut slots = vec![u32::MAX; bases.len()];
        let mut nonzero = Vec::with_capacity(bases.len());
        for (i, b) in bases.iter().enumerate() {
            if !b.is_zero() {
                slots[i] = nonzero.len() as u32;
                nonzero.push(*b);
            }
        }
        let mut points = vec![Affine::<P>::identity(); nonzero.len() * windows];
        points.par_chunks_mut(BUILD_CHUNK * windows).zip(nonzero.par_chunks(BUILD_CHUNK)).for_each(|(out, chunk)| {
            let mut multiples = Vec::with_capacity(chunk.len() * windows);
            for b in chunk {
                let mut p: Projective<P> = b.into_group();
                for j in 0..windows {
                    if j > 0 {
                        for _ in 0..c {
                            p.double_in_place();
                        }
                    }
                    multiples.push(p);
                }
            }
            out.copy_from_slice(&Projective::normalize_batch(&multiples));
        });
        let lanes = if Self::uses_lanes(nonzero.len(), lanes_from) { P::lane_table(&points) } else { None };
        if lanes.is_some() {
            points = Vec::new();
        }
        Self { window: c, windows, slots, points, lanes }
    }

    /// Window width `c`.
    pub(super) fn window(&self) -> u32 {
        self.window
    }

    /// Number of windows `W`.
    pub(super) fn windows(&self) -> usize {
        self.windows
    }

    /// Slot of base `i` (only meaningful for bases not at infinity).
    pub(super) fn slot(&self, i: usize) -> usize {
        self.slots[i] as usize
    }

    /// The precomputed points (empty when the table holds them in lane form).
    pub(super) fn points(&self) -> &[Affine<P>] {
        &self.points
    }

    /// The points in lane form, when the table has them.
    pub(super) fn lanes(&self) -> Option<&[u64]> {
        self.lanes.as_deref()
    }

    /// Bytes this table holds.
    pub(super) fn bytes(&self) -> usize {
        self.points.len() * std::mem::size_of::<Affine<P>>()
            + self.lanes.as_ref().map_or(0, |l| l.len() * std::mem::size_of::<u64>())
            + self.slots.len() * std::mem::size_of::<u32>()
    }
}

/// A cached table of either group.
#[derive(Debug, Clone)]
pub(super) enum AnyTable {
    /// A G1 table.
    G1(Arc<FixedBaseTable<g1::Config>>),
    /// A G2 table.
    G2(Arc<FixedBaseTable<g2::Config>>),
}

impl AnyTable {
    fn bytes(&self) -> usize {
        match self {
            AnyTable::G1(t) => t.bytes(),
            AnyTable::G2(t) => t.bytes(),
        }
    }
}

/// The lane methods of [`CachedCurve`] for a group with a [`super::lane_field::LaneCurve`]
/// coordinate field.
#[cfg(target_arch = "x86_64")]
macro_rules! lane_methods {
    () => {
        fn lane_point_bytes() -> usize {
            use super::lane_field::{LaneCoord, LaneCurve};
            if super::ifma::available() {
                2 * <Self as LaneCurve>::Coord::DIGITS * std::mem::size_of::<u64>()
            } else {
                0
            }
        }
        fn lane_table(points: &[Affine<Self>]) -> Option<Vec<u64>> {
            super::ifma::available().then(|| {
                let stride = Self::lane_point_bytes() / std::mem::size_of::<u64>();
                let mut lanes = vec![0u64; points.len() * stride];
                lanes.par_chunks_mut(BUILD_CHUNK * stride).zip(points.par_chunks(BUILD_CHUNK)).for_each(
                    |(out, chunk)| {
                        out.copy_from_slice(&super::lane_bucket::lane_points(chunk));
                    },
                );
                lanes
            })
        }
        fn lane_weighted_sum<I: Iterator<Item = (u32, u32)>>(
            lanes: Option<&[u64]>,
            n_buckets: usize,
            entries: I,
        ) -> Result<Projective<Self>, I> {
            match lanes {
                Some(lanes) => Ok(super::lane_bucket::weighted_sum::<Self>(lanes, n_buckets, entries).0),
                None => Err(entries),
            }
        }
    };
}

/// Curve groups whose tables the cache holds.
pub(super) trait CachedCurve: SWCurveConfig + Sized {
    /// Wraps a table.
    fn wrap(table: Arc<FixedBaseTable<Self>>) -> AnyTable;
    /// Unwraps a table of this group.
    fn unwrap(table: &AnyTable) -> Option<Arc<FixedBaseTable<Self>>>;
    /// Bytes per point of the lane form, `0` where there is none (no AVX-512 IFMA).
    fn lane_point_bytes() -> usize {
        0
    }
    /// The lane form of a table's points, where there is one.
    fn lane_table(_points: &[Affine<Self>]) -> Option<Vec<u64>> {
        None
    }
    /// Weighted bucket sum of `entries` (`(bucket, signed point reference)`) over points in
    /// lane form; gives the entries back when there is no lane form.
    fn lane_weighted_sum<I: Iterator<Item = (u32, u32)>>(
        _lanes: Option<&[u64]>,
        _n_buckets: usize,
        entries: I,
    ) -> Result<Projective<Self>, I> {
        Err(entries)
    }
}

impl CachedCurve for g1::Config {
    fn wrap(table: Arc<FixedBaseTable<Self>>) -> AnyTable {
        AnyTable::G1(table)
    }
    fn unwrap(table: &AnyTable) -> Option<Arc<FixedBaseTable<Self>>> {
        match table {
            AnyTable::G1(t) => Some(t.clone()),
            AnyTable::G2(_) => None,
        }
    }
    #[cfg(target_arch = "x86_64")]
    lane_methods!();
}

impl CachedCurve for g2::Config {
    fn wrap(table: Arc<FixedBaseTable<Self>>) -> AnyTable {
        AnyTable::G2(table)
    }
    fn unwrap(table: &AnyTable) -> Option<Arc<FixedBaseTable<Self>>> {
        match table {
            AnyTable::G2(t) => Some(t.clone()),
            AnyTable::G1(_) => None,
        }
    }
    #[cfg(target_arch = "x86_64")]
    lane_methods!();
}

#[derive(Debug)]
struct Entry {
    table: AnyTable,
    last_used: u64,
}

/// Tables by bases id within a byte budget (least recently used evicted first), plus how
/// many scalar vectors each id has been used with, for the prepare-after-N-uses policy.
#[derive(Debug, Default)]
pub(super) struct TableCache {
    tables: HashMap<u64, Entry>,
    uses: HashMap<u64, usize>,
    bytes: usize,
    clock: u64,
}

impl TableCache {
    /// The table for `id`, marking it used.
    pub(super) fn get<P: CachedCurve>(&mut self, id: u64) -> Option<Arc<FixedBaseTable<P>>> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.tables.get_mut(&id)?;
        entry.last_used = clock;
        P::unwrap(&entry.table)
    }

    /// Counts `vectors` more uses of `id`; returns the total so far.
    pub(super) fn count_use(&mut self, id: u64, vectors: usize) -> usize {
        let n = self.uses.entry(id).or_insert(0);
        *n += vectors;
        *n
    }

    /// Bytes of all cached tables.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a table for `id` is cached.
    pub(super) fn has(&self, id: u64) -> bool {
        self.tables.contains_key(&id)
    }

    /// Inserts `table` for `id`, evicting least recently used tables until the total stays
    /// within `budget`. Returns false (and keeps nothing) when the table alone exceeds it.
    pub(super) fn insert<P: CachedCurve>(&mut self, id: u64, table: Arc<FixedBaseTable<P>>, budget: usize) -> bool {
        let table = P::wrap(table);
        let size = table.bytes();
        if size > budget {
            return false;
        }
        if let Some(old) = self.tables.remove(&id) {
            self.bytes -= old.table.bytes();
        }
        while self.bytes + size > budget {
            let Some((&victim, _)) = self.tables.iter().min_by_key(|(_, e)| e.last_used) else {
                break;
            };
            if let Some(e) = self.tables.remove(&victim) {
                self.bytes -= e.table.bytes();
            }
        }
        self.clock += 1;
        self.bytes += size;
        self.tables.insert(id, Entry { table, last_used: self.clock });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective};
    use ark_ec::PrimeGroup;
    use ark_ff::Field;

    #[test]
    fn table_holds_shifted_multiples_and_skips_infinity() {
        let g = G1Projective::generator();
        let bases = vec![g.into_affine(), Affine::identity(), (g * Fr::from(5u64)).into_affine()];
        let t = FixedBaseTable::<g1::Config>::build(&bases, 7, usize::MAX);
        assert_eq!(t.points().len(), 2 * t.windows());
        assert!(t.lanes().is_none());
        let slot = t.slot(2);
        for j in 0..t.windows() {
            let want = bases[2] * Fr::from(2u64).pow([7 * j as u64]);
            assert_eq!(t.points()[slot * t.windows() + j], want.into_affine(), "window {j}");
        }
    }

    #[test]
    fn cache_evicts_least_recently_used_within_budget() {
        let g = G1Projective::generator().into_affine();
        let t = Arc::new(FixedBaseTable::<g1::Config>::build(&[g; 4], 8, usize::MAX));
        let size = t.bytes();
        let mut cache = TableCache::default();
        assert!(cache.insert(1, t.clone(), 2 * size));
        assert!(cache.insert(2, t.clone(), 2 * size));
        assert!(cache.get::<g1::Config>(1).is_some());
        assert!(cache.insert(3, t.clone(), 2 * size));
        assert!(cache.has(1) && cache.has(3) && !cache.has(2), "2 was least recently used");
        assert!(cache.bytes() <= 2 * size);
        assert!(!cache.insert(4, t, size - 1), "a table over the whole budget is refused");
        assert!(cache.get::<g2::Config>(1).is_none(), "a G1 table is not a G2 table");
    }
}
