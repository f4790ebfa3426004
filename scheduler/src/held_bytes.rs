//! The byte budget for held deliveries (issue 16, point 4).
//!
//! RabbitMQ bounds what it pushes a consumer in *messages* (prefetch), not bytes, and quorum
//! queues refuse a channel-wide QoS. So the worker counts the bytes of the message bodies it
//! holds itself — received and not yet acked, nacked or rejected, wherever they are: the intake,
//! the fair queue, the device, the commit, the requeue list — and stops consuming above its
//! budget:
//!
//! - every body received takes a [`Lease`] of its length, which travels with the delivery and
//!   gives the bytes back when dropped (after the delivery is settled), so no path can forget to
//!   count down;
//! - above [`HeldBytes::should_pause`] (¾ of the budget) the worker cancels its consumers: the
//!   broker stops pushing, and what it pushed before the cancels arrived still comes in (that is
//!   what the last quarter of the budget is for);
//! - at or below [`HeldBytes::may_resume`] (⅜ of the budget) it consumes again. The gap between
//!   the two keeps a flood from toggling consumption on every delivery.
//!
//! Cancelling consumers stops *new* pushes only: a consumer may already have been pushed its
//! whole prefetch. So the budget also sets the prefetch ([`prefetch_scale`]): each consumer's
//! configured prefetch is scaled down so that all of them together, each delivery as large as
//! the largest body a job can have, fit in ¾ of the budget. That largest body is the `.wtns` of
//! the largest registered circuit (`76 + 32 × n_vars` bytes): a larger body is no job, and is
//! refused when it is taken up. A body larger than that *can* still arrive — the broker accepts
//! up to its own `max_message_size` — so the hard bound on what the broker may push at once is
//! Σ prefetch × that size; set the broker's `max_message_size` to the largest witness you accept
//! (`docs/worker.md`).
//!
//! Pure apart from the atomic counter: the worker loop owns the decisions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The bytes of held deliveries, against a budget.
#[derive(Debug, Clone)]
pub struct HeldBytes {
    total: Arc<AtomicU64>,
    budget: u64,
}

/// `bytes` counted as held until this is dropped.
#[derive(Debug)]
pub struct Lease {
    total: Arc<AtomicU64>,
    bytes: u64,
}

impl HeldBytes {
    /// A counter at zero with `budget` bytes (at least 1).
    pub fn new(budget: u64) -> Self {
        Self { total: Arc::new(AtomicU64::new(0)), budget: budget.max(1) }
    }

    /// Counts `bytes` as held until the lease is dropped.
    pub fn lease(&self, bytes: usize) -> Lease {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.total.fetch_add(bytes, Ordering::Relaxed);
        Lease { total: self.total.clone(), bytes }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// The budget, bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Whether consumption should stop: more than ¾ of the budget is held.
    pub fn should_pause(&self) -> bool {
        self.bytes() > self.budget / 4 * 3
    }

    /// Whether a paused worker may consume again: at most ⅜ of the budget is held.
    pub fn may_resume(&self) -> bool {
        self.bytes() <= self.budget / 8 * 3
    }
}

/// The factor (≤ 1) by which every consumer's configured prefetch is scaled so that
/// `configured_total` deliveries (the sum over consumers) of `body_bytes` each fit in ¾ of
/// `budget`. 1 when they fit unscaled.
pub fn prefetch_scale(budget: u64, body_bytes: u64, configured_total: u64) -> f64 {
    let slots = (budget / 4 * 3) / body_bytes.max(1);
    if configured_total == 0 || slots >= configured_total {
        1.0
    } else {
        slots as f64 / configured_total as f64
    }
}

/// A consumer's prefetch: `configured` × `scale`, rounded down, at least 1 (a consumer with
/// prefetch 0 would be pushed without limit).
pub fn scaled_prefetch(configured: u16, scale: f64) -> u16 {
    if scale >= 1.0 {
        return configured.max(1);
    }
    let scaled = (f64::from(configured) * scale.max(0.0)).floor();
    (scaled as u16).clamp(1, configured.max(1))
}

impl Lease {
    /// The bytes this lease holds.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_count_until_dropped() {
        let held = HeldBytes::new(1000);
        let a = held.lease(300);
        let b = held.lease(200);
        assert_eq!(held.bytes(), 500);
        assert_eq!(a.bytes(), 300);
        drop(a);
        assert_eq!(held.bytes(), 200);
        let moved = vec![b];
        drop(moved);
        assert_eq!(held.bytes(), 0, "a lease moved into a container is given back when the container is dropped");
    }

    #[test]
    fn pause_and_resume_have_a_gap() {
        let held = HeldBytes::new(800);
        let a = held.lease(600);
        assert!(!held.should_pause(), "exactly ¾ is not above it");
        let b = held.lease(1);
        assert!(held.should_pause());
        assert!(!held.may_resume());
        drop(a);
        assert!(!held.should_pause());
        assert!(held.may_resume());
        let c = held.lease(300);
        assert!(!held.may_resume(), "⅜ + 1 byte");
        drop((b, c));
        assert!(held.may_resume());
    }

    #[test]
    fn prefetch_fits_the_budget_when_it_can() {
        let mib = 1u64 << 20;
        // Small witnesses: nothing to scale.
        assert_eq!(prefetch_scale(1 << 30, 1548, 21 * 32), 1.0);
        // 1 MiB bodies, 32 MiB budget (24 MiB usable), 21 consumers of 32: 24 of 672 slots.
        let s = prefetch_scale(32 * mib, mib, 21 * 32);
        assert!((s - 24.0 / 672.0).abs() < 1e-12, "{s}");
        assert_eq!(scaled_prefetch(32, s), 1);
        // Weighted consumers keep their proportions where the floor allows.
        let s = prefetch_scale(1 << 30, mib, 10 * 64 + 10 * 256);
        let (light, heavy) = (scaled_prefetch(64, s), scaled_prefetch(256, s));
        assert!(light >= 1 && heavy >= 4 * light - 3, "{light} {heavy}");
        assert!(u64::from(light) * 10 + u64::from(heavy) * 10 <= 768, "the scaled prefetch fits ¾ of 1 GiB of 1 MiB bodies");
        // The floor: a consumer always gets 1.
        assert_eq!(scaled_prefetch(64, 0.0), 1);
        assert_eq!(scaled_prefetch(0, 1.0), 1);
    }

    #[test]
    fn a_zero_budget_still_lets_one_byte_through() {
        let held = HeldBytes::new(0);
        assert_eq!(held.budget(), 1);
        assert!(held.may_resume());
    }
}
