//! Batch forming: jobs of one circuit are grouped until a batch is full (`max_size`) or its
//! oldest job has waited `max_wait` (the latency budget). Pure: no I/O, and the clock is
//! passed in, so every rule is unit-tested with made-up instants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A batch ready for a device: one circuit, up to `max_size` items, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T> {
    /// The circuit every item is for.
    pub circuit_id: String,
    /// The items, in arrival order.
    pub items: Vec<T>,
}

#[derive(Debug)]
struct Pending<T> {
    items: Vec<T>,
    first_at: Instant,
}

/// Groups items by circuit.
#[derive(Debug)]
pub struct Batcher<T> {
    max_size: usize,
    max_wait: Duration,
    pending: HashMap<String, Pending<T>>,
}

impl<T> Batcher<T> {
    /// A batcher cutting at `max_size` items (at least 1) or `max_wait` after a batch's
    /// first item.
    pub fn new(max_size: usize, max_wait: Duration) -> Self {
        Self { max_size: max_size.max(1), max_wait, pending: HashMap::new() }
    }

    /// Adds an item; returns its circuit's batch if that made it full.
    pub fn push(&mut self, circuit_id: &str, item: T, now: Instant) -> Option<Batch<T>> {
        let p = self.pending.entry(circuit_id.to_owned()).or_insert_with(|| Pending { items: Vec::new(), first_at: now });
        p.items.push(item);
        if p.items.len() >= self.max_size {
            let p = self.pending.remove(circuit_id)?;
            return Some(Batch { circuit_id: circuit_id.to_owned(), items: p.items });
        }
        None
    }

    /// Batches whose oldest item has waited `max_wait` or longer, oldest first.
    pub fn due(&mut self, now: Instant) -> Vec<Batch<T>> {
        let mut due: Vec<(Instant, String)> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.first_at) >= self.max_wait)
            .map(|(c, p)| (p.first_at, c.clone()))
            .collect();
        due.sort();
        due.into_iter()
            .filter_map(|(_, c)| self.pending.remove(&c).map(|p| Batch { circuit_id: c, items: p.items }))
            .collect()
    }

    /// When the next batch falls due, if any is pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.first_at + self.max_wait).min()
    }

    /// Every pending batch, now (shutdown drains in-flight work).
    pub fn drain(&mut self) -> Vec<Batch<T>> {
        let mut all: Vec<(Instant, String, Vec<T>)> = self.pending.drain().map(|(c, p)| (p.first_at, c, p.items)).collect();
        all.sort_by_key(|(t, _, _)| *t);
        all.into_iter().map(|(_, circuit_id, items)| Batch { circuit_id, items }).collect()
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.pending.values().map(|p| p.items.len()).sum()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_max_size_per_circuit() {
        let t0 = Instant::now();
        let mut b = Batcher::new(3, Duration::from_millis(50));
        assert!(b.push("a", 1, t0).is_none());
        assert!(b.push("b", 10, t0).is_none());
        assert!(b.push("a", 2, t0).is_none());
        let full = b.push("a", 3, t0).expect("full");
        assert_eq!(full, Batch { circuit_id: "a".into(), items: vec![1, 2, 3] });
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn cuts_at_max_wait_oldest_first() {
        let t0 = Instant::now();
        let mut b = Batcher::new(100, Duration::from_millis(50));
        b.push("late", 1, t0 + Duration::from_millis(10));
        b.push("early", 2, t0);
        assert_eq!(b.next_deadline(), Some(t0 + Duration::from_millis(50)));
        assert!(b.due(t0 + Duration::from_millis(49)).is_empty());
        let due = b.due(t0 + Duration::from_millis(60));
        assert_eq!(due.iter().map(|x| x.circuit_id.as_str()).collect::<Vec<_>>(), ["early", "late"]);
        assert!(b.is_empty());
        assert_eq!(b.next_deadline(), None);
    }

    #[test]
    fn wait_counts_from_the_first_item_and_drain_takes_all() {
        let t0 = Instant::now();
        let mut b = Batcher::new(100, Duration::from_millis(50));
        b.push("a", 1, t0);
        b.push("a", 2, t0 + Duration::from_millis(40));
        assert_eq!(b.due(t0 + Duration::from_millis(50)).len(), 1, "the batch is due 50 ms after its first item");
        b.push("x", 3, t0);
        b.push("y", 4, t0);
        assert_eq!(b.drain().len(), 2);
        assert!(b.is_empty());
    }

    #[test]
    fn max_size_one_dispatches_immediately() {
        let mut b = Batcher::new(0, Duration::from_secs(1));
        assert!(b.push("a", 1, Instant::now()).is_some());
    }
}
