//! A bounded cache with a time to live, for the worker's admission look-ups (tenants, circuit
//! references). Its keys come from messages, so a submitter chooses them: entries expire after
//! the TTL, and the cache never holds more than its capacity — a flood of distinct made-up
//! names costs database look-ups (each answered once per TTL), never unbounded memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// String-keyed values, each trusted for `ttl`, at most `capacity` of them.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: HashMap<String, (V, Instant)>,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache (capacity at least 1).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity: capacity.max(1), entries: HashMap::new() }
    }

    /// The value stored for `key` less than the TTL ago.
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.get(key).filter(|(_, at)| at.elapsed() < self.ttl).map(|(v, _)| v.clone())
    }

    /// Stores `value` for `key`. At capacity, expired entries go first, then the oldest one.
    pub fn insert(&mut self, key: &str, value: V) {
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if self.entries.len() >= self.capacity {
                if let Some(oldest) = self.entries.iter().min_by_key(|(_, (_, at))| *at).map(|(k, _)| k.clone()) {
                    self.entries.remove(&oldest);
                }
            }
        }
        self.entries.insert(key.to_owned(), (value, Instant::now()));
    }

    /// Entries held (fresh or not yet evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_never_grow_it_past_its_capacity() {
        let mut c = TtlCache::new(Duration::from_secs(60), 100);
        for k in 0..10_000 {
            c.insert(&format!("made-up-tenant-{k}"), k);
            assert!(c.len() <= 100);
        }
        // The newest entries are kept, the oldest evicted.
        assert_eq!(c.get("made-up-tenant-9999"), Some(9999));
        assert_eq!(c.get("made-up-tenant-0"), None);
    }

    #[test]
    fn entries_expire_and_updates_refresh_them() {
        let mut c = TtlCache::new(Duration::from_millis(30), 4);
        c.insert("a", 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("a"), None, "expired");
        c.insert("a", 2);
        assert_eq!(c.get("a"), Some(2));
        assert_eq!(c.len(), 1);
    }
}
