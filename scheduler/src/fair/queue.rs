//! The fair queue: start-time fair queuing (SFQ, Goyal, Vin & Cheng, SIGCOMM 1996) over
//! tenants, inside strict priority classes, with batch forming by circuit. Pure: no I/O, the
//! clock is an argument (a [`Time`] since any origin), so the worker and the simulator run
//! this same code and every rule is property-tested.
//!
//! ## Tags
//! Each priority class keeps a virtual time `V` and, per tenant, the finish tag `F` of the
//! tenant's last job. A job arriving with cost `c` (estimated device-seconds per proof) from a
//! tenant of weight `w` gets
//!
//! ```text
//! S = max(V, F_tenant)      F_tenant := S + c / w
//! ```
//!
//! and jobs are served in increasing `S`. After each batch `V` moves up to the smallest start
//! tag still queued in the class (the largest served, when none is left). A
//! tenant returning from idle has `F_tenant ≤ V`, so its first job starts at `V`: it gets **no
//! banked credit** for the time it was away, and equally no penalty. A flooding tenant's tags
//! run ahead of `V` by `c / w` per job, so its backlog only ever delays its *own* later jobs.
//! SFQ's bound (Goyal et al., Theorem 1): over any interval in which tenants `i` and `j` are
//! both backlogged, `|W_i/w_i − W_j/w_j| ≤ c_i^max/w_i + c_j^max/w_j`; SFQ needs no knowledge
//! of the server's speed, which suits devices whose throughput changes with batch shape.
//!
//! ## Batches
//! A batch holds one circuit. A circuit is *ready* when it has a full batch queued (the
//! smaller of `max_batch` and what fits the device's memory) or its oldest job has waited
//! `max_wait` (the latency budget), or when the caller flushes (shutdown). [`FairQueue::next_batch`]
//! takes the best job among ready circuits — highest priority first, then smallest start tag —
//! and fills the batch with that circuit's jobs in the same order. So priority classes are
//! served first, tenants share within a class by weight, and the batch is formed when a device
//! asks for it (late binding), not when jobs arrive: a job that arrives while a batch proves
//! competes for the very next one.
//!
//! Work conservation: `next_batch` returns a batch whenever any ready circuit fits the device
//! (a cap ≥ 1); it returns `None` only when no circuit is ready, and then [`FairQueue::next_wakeup`]
//! says when one will be.
//!
//! Strict priority means a sustained overload of a higher class delays lower classes for as
//! long as it lasts; fairness and the wait bound hold *within* a class.
//!
//! ## Deadlines
//! [`FairQueue::expire`] removes jobs whose deadline has passed (the caller fails them with
//! `deadline_exceeded`); [`FairQueue::next_wakeup`] includes the earliest deadline so the caller
//! wakes for it.

use std::collections::HashMap;
use std::time::Duration;

/// Instants, as the time since an origin the caller fixes (the worker: its start; the
/// simulator: the trace's zero).
pub type Time = Duration;

/// The smallest cost a job is charged, so that a zero estimate still advances tags.
const MIN_COST: f64 = 1e-9;

/// Batch limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FairConfig {
    /// Most jobs in one batch (at least 1).
    pub max_batch: usize,
    /// Longest a circuit's oldest job waits for its batch to fill.
    pub max_wait: Duration,
}

/// A job offered to the queue.
#[derive(Debug, Clone)]
pub struct JobSpec<T> {
    /// What the caller keeps with the job (a delivery, an index).
    pub item: T,
    /// Tenant.
    pub tenant: String,
    /// Tenant weight (≥ 1).
    pub weight: u32,
    /// Circuit: a batch holds one.
    pub circuit: String,
    /// Priority class, higher first.
    pub priority: u8,
    /// Estimated device-seconds of one proof of this circuit.
    pub cost: f64,
    /// The job must not start after this instant.
    pub deadline: Option<Time>,
}

/// A queued job with its tags.
#[derive(Debug, Clone)]
pub struct Queued<T> {
    /// The caller's item.
    pub item: T,
    /// Tenant.
    pub tenant: String,
    /// Weight at arrival.
    pub weight: u32,
    /// Circuit.
    pub circuit: String,
    /// Priority class.
    pub priority: u8,
    /// Cost charged.
    pub cost: f64,
    /// When it entered the queue.
    pub arrived: Time,
    /// Deadline.
    pub deadline: Option<Time>,
    /// Virtual start tag.
    pub start_tag: f64,
    /// Virtual finish tag.
    pub finish_tag: f64,
    seq: u64,
}

/// Why a batch was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// It reached the size cap (max batch or device memory).
    Full,
    /// Its oldest job waited `max_wait`.
    Waited,
    /// The caller flushed the queue (shutdown).
    Flush,
}

/// A batch to run: one circuit, jobs in service order.
#[derive(Debug, Clone)]
pub struct Dispatch<T> {
    /// The circuit.
    pub circuit: String,
    /// The jobs.
    pub jobs: Vec<Queued<T>>,
    /// Why it was cut.
    pub cut: Cut,
}

#[derive(Debug, Default, Clone)]
struct ClassClock {
    virtual_time: f64,
    finish: HashMap<String, f64>,
}

/// The fair queue. See the module docs.
#[derive(Debug)]
pub struct FairQueue<T> {
    config: FairConfig,
    jobs: Vec<Queued<T>>,
    clocks: HashMap<u8, ClassClock>,
    seq: u64,
}

struct CircuitView {
    count: usize,
    oldest: Time,
}

impl<T> FairQueue<T> {
    /// An empty queue.
    pub fn new(config: FairConfig) -> Self {
        Self {
            config: FairConfig {
                max_batch: config.max_batch.max(1),
                ..config
            },
            jobs: Vec::new(),
            clocks: HashMap::new(),
            seq: 0,
        }
    }

    /// The limits.
    pub fn config(&self) -> FairConfig {
        self.config
    }

    /// Queues a job; returns its start tag.
    pub fn push(&mut self, spec: JobSpec<T>, now: Time) -> f64 {
        let clock = self.clocks.entry(spec.priority).or_default();
        let previous = clock
            .finish
            .get(&spec.tenant)
            .copied()
            .unwrap_or(f64::NEG_INFINITY);
        let start = clock.virtual_time.max(previous);
        let cost = if spec.cost.is_finite() {
            spec.cost.max(MIN_COST)
        } else {
            MIN_COST
        };
        let finish = start + cost / f64::from(spec.weight.max(1));
        clock.finish.insert(spec.tenant.clone(), finish);
        self.seq += 1;
        self.jobs.push(Queued {
            item: spec.item,
            tenant: spec.tenant,
            weight: spec.weight.max(1),
            circuit: spec.circuit,
            priority: spec.priority,
            cost,
            arrived: now,
            deadline: spec.deadline,
            start_tag: start,
            finish_tag: finish,
            seq: self.seq,
        });
        start
    }

    /// Removes and returns the jobs whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Time) -> Vec<Queued<T>> {
        self.take_where(|q| q.deadline.is_some_and(|d| d <= now))
    }

    /// Removes and returns the jobs `pred` selects (in queue order).
    pub fn take_where(&mut self, mut pred: impl FnMut(&Queued<T>) -> bool) -> Vec<Queued<T>> {
        let mut taken = Vec::new();
        let mut kept = Vec::with_capacity(self.jobs.len());
        for q in self.jobs.drain(..) {
            if pred(&q) {
                taken.push(q);
            } else {
                kept.push(q);
            }
        }
        self.jobs = kept;
        taken
    }

    fn circuits(&self) -> HashMap<&str, CircuitView> {
        let mut out: HashMap<&str, CircuitView> = HashMap::new();
        for q in &self.jobs {
            let v = out.entry(q.circuit.as_str()).or_insert(CircuitView {
                count: 0,
                oldest: q.arrived,
            });
            v.count += 1;
            v.oldest = v.oldest.min(q.arrived);
        }
        out
    }

    /// The batch size cap of a circuit on a device whose memory allows `memory_cap` proofs.
    fn cap(&self, memory_cap: usize) -> usize {
        self.config.max_batch.min(memory_cap)
    }

    /// Whether `circuit`'s batch may be cut now, and why.
    fn readiness(&self, view: &CircuitView, cap: usize, now: Time, flush: bool) -> Option<Cut> {
        if cap == 0 {
            None
        } else if view.count >= cap {
            Some(Cut::Full)
        } else if now.saturating_sub(view.oldest) >= self.config.max_wait {
            Some(Cut::Waited)
        } else if flush {
            Some(Cut::Flush)
        } else {
            None
        }
    }

    /// Whether some circuit is ready for a device with the given memory caps.
    pub fn has_ready(&self, now: Time, memory_cap: impl Fn(&str) -> usize, flush: bool) -> bool {
        self.circuits().iter().any(|(c, v)| {
            self.readiness(v, self.cap(memory_cap(c)), now, flush)
                .is_some()
        })
    }

    /// The next batch for a device on which a batch of circuit `c` may hold at most
    /// `memory_cap(c)` proofs (0: the circuit does not fit it). `flush` cuts partial batches
    /// at once (shutdown). `None`: no circuit is ready for this device.
    pub fn next_batch(
        &mut self,
        now: Time,
        memory_cap: impl Fn(&str) -> usize,
        flush: bool,
    ) -> Option<Dispatch<T>> {
        let circuits = self.circuits();
        let mut ready: HashMap<&str, (usize, Cut)> = HashMap::new();
        for (c, v) in &circuits {
            let cap = self.cap(memory_cap(c));
            if let Some(cut) = self.readiness(v, cap, now, flush) {
                ready.insert(c, (cap, cut));
            }
        }
        let best = self
            .jobs
            .iter()
            .filter(|q| ready.contains_key(q.circuit.as_str()))
            .min_by(|a, b| service_order(a, b))?;
        let circuit = best.circuit.clone();
        let (cap, cut) = ready[circuit.as_str()];
        drop(circuits);
        let mut chosen: Vec<(usize, &Queued<T>)> = self
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, q)| q.circuit == circuit)
            .collect();
        chosen.sort_by(|a, b| service_order(a.1, b.1));
        chosen.truncate(cap);
        let mut picked: Vec<usize> = chosen.into_iter().map(|(i, _)| i).collect();
        // Remove from the back so indices stay valid, then restore service order.
        picked.sort_unstable_by(|a, b| b.cmp(a));
        let mut jobs: Vec<Queued<T>> = picked
            .into_iter()
            .map(|i| self.jobs.swap_remove(i))
            .collect();
        jobs.sort_by(service_order);
        self.advance_virtual_time(&jobs);
        self.forget_idle_tenants();
        Some(Dispatch { circuit, jobs, cut })
    }

    /// Moves each served class's virtual time to the smallest start tag still queued in it
    /// (or, with nothing left, to the largest start tag just served). Not simply to the largest
    /// tag served: a batch is filled with its circuit's jobs *ahead* of their turn, and letting
    /// `V` jump to their tags would erase the credit of tenants still waiting at smaller tags.
    fn advance_virtual_time(&mut self, served: &[Queued<T>]) {
        let mut classes: HashMap<u8, f64> = HashMap::new();
        for q in served {
            let m = classes.entry(q.priority).or_insert(f64::NEG_INFINITY);
            *m = m.max(q.start_tag);
        }
        for (class, served_max) in classes {
            let queued_min = self.jobs.iter().filter(|q| q.priority == class).map(|q| q.start_tag).min_by(f64::total_cmp);
            let clock = self.clocks.entry(class).or_default();
            clock.virtual_time = clock.virtual_time.max(queued_min.unwrap_or(served_max));
        }
    }

    /// Drops per-tenant finish tags that can no longer matter (`F ≤ V`: the tenant's next job
    /// starts at `V` anyway), so the clocks stay as small as the set of busy tenants.
    fn forget_idle_tenants(&mut self) {
        for clock in self.clocks.values_mut() {
            let v = clock.virtual_time;
            clock.finish.retain(|_, f| *f > v);
        }
    }

    /// When the next circuit becomes ready by waiting or the next deadline passes, for a device
    /// with the given caps; `None` when nothing is queued for it.
    pub fn next_wakeup(&self, memory_cap: impl Fn(&str) -> usize) -> Option<Time> {
        let waits = self
            .circuits()
            .into_iter()
            .filter(|(c, _)| self.cap(memory_cap(c)) > 0)
            .map(|(_, v)| v.oldest + self.config.max_wait)
            .min();
        let deadline = self.jobs.iter().filter_map(|q| q.deadline).min();
        match (waits, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Jobs queued.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Jobs queued for `tenant`.
    pub fn backlog(&self, tenant: &str) -> usize {
        self.jobs.iter().filter(|q| q.tenant == tenant).count()
    }

    /// Every queued job, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Queued<T>> {
        self.jobs.iter()
    }

    /// Empties the queue (the caller lost its deliveries: a broker session ended).
    pub fn clear(&mut self) -> Vec<Queued<T>> {
        std::mem::take(&mut self.jobs)
    }

    /// The virtual time of a priority class (tests and metrics).
    pub fn virtual_time(&self, priority: u8) -> f64 {
        self.clocks.get(&priority).map_or(0.0, |c| c.virtual_time)
    }
}

/// Highest priority first, then smallest start tag, then arrival.
fn service_order<T>(a: &Queued<T>, b: &Queued<T>) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.start_tag.total_cmp(&b.start_tag))
        .then(a.finish_tag.total_cmp(&b.finish_tag))
        .then(a.seq.cmp(&b.seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Time {
        Duration::from_millis(v)
    }

    fn job(tenant: &str, weight: u32, circuit: &str, priority: u8, item: u32) -> JobSpec<u32> {
        JobSpec {
            item,
            tenant: tenant.into(),
            weight,
            circuit: circuit.into(),
            priority,
            cost: 1.0,
            deadline: None,
        }
    }

    fn any_cap(_: &str) -> usize {
        usize::MAX
    }

    #[test]
    fn a_flood_does_not_hide_a_quiet_tenant() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 4,
            max_wait: ms(0),
        });
        for i in 0..1000 {
            q.push(job("flood", 1, "c", 0, i), ms(0));
        }
        let first = q.next_batch(ms(0), any_cap, false).expect("a batch");
        assert!(first.jobs.iter().all(|j| j.tenant == "flood"));
        q.push(job("quiet", 1, "c", 0, 9999), ms(1));
        let next = q.next_batch(ms(1), any_cap, false).expect("a batch");
        assert!(
            next.jobs.iter().any(|j| j.tenant == "quiet"),
            "the quiet job starts in the very next batch"
        );
    }

    #[test]
    fn weights_share_service_and_idle_tenants_bank_nothing() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 1,
            max_wait: ms(0),
        });
        for i in 0..300 {
            q.push(job("a", 1, "c", 0, i), ms(0));
            q.push(job("b", 2, "c", 0, i), ms(0));
        }
        let mut served = HashMap::new();
        for _ in 0..300 {
            let b = q.next_batch(ms(0), any_cap, false).expect("a batch");
            *served.entry(b.jobs[0].tenant.clone()).or_insert(0) += 1;
        }
        assert_eq!(
            (served["a"], served["b"]),
            (100, 200),
            "service in proportion to weight"
        );
        // `c` was idle all along: it starts at V, not at 0, so it does not get 100 jobs in a row.
        for i in 0..50 {
            q.push(job("c", 1, "c", 0, i), ms(1));
        }
        let mut c_run = 0;
        for _ in 0..8 {
            let b = q.next_batch(ms(1), any_cap, false).expect("a batch");
            if b.jobs[0].tenant == "c" {
                c_run += 1;
            }
        }
        assert!(
            c_run <= 3,
            "a returning tenant gets its share, not banked credit: {c_run} of 8"
        );
    }

    #[test]
    fn priority_classes_go_first_and_a_batch_holds_one_circuit() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 8,
            max_wait: ms(0),
        });
        q.push(job("a", 1, "x", 0, 1), ms(0));
        q.push(job("b", 1, "y", 5, 2), ms(0));
        q.push(job("a", 1, "x", 0, 3), ms(0));
        q.push(job("c", 1, "y", 0, 4), ms(0));
        let b = q.next_batch(ms(0), any_cap, false).expect("a batch");
        assert_eq!(b.circuit, "y");
        assert_eq!(
            b.jobs.iter().map(|j| j.item).collect::<Vec<_>>(),
            [2, 4],
            "the high-priority job leads its circuit's batch"
        );
        let b = q.next_batch(ms(0), any_cap, false).expect("a batch");
        assert_eq!((b.circuit.as_str(), b.jobs.len()), ("x", 2));
    }

    #[test]
    fn batches_cut_by_size_wait_memory_and_flush() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 3,
            max_wait: ms(50),
        });
        q.push(job("a", 1, "c", 0, 1), ms(0));
        q.push(job("a", 1, "c", 0, 2), ms(10));
        assert!(
            q.next_batch(ms(20), any_cap, false).is_none(),
            "neither full nor waited"
        );
        assert_eq!(q.next_wakeup(any_cap), Some(ms(50)));
        let b = q
            .next_batch(ms(20), |_| 2, false)
            .expect("full for a device that holds 2");
        assert_eq!((b.jobs.len(), b.cut), (2, Cut::Full));
        q.push(job("a", 1, "c", 0, 3), ms(30));
        assert!(
            q.next_batch(ms(40), |_| 0, true).is_none(),
            "a circuit that does not fit the device never goes to it"
        );
        assert_eq!(q.next_wakeup(|_| 0), None);
        let b = q.next_batch(ms(80), any_cap, false).expect("waited");
        assert_eq!(b.cut, Cut::Waited);
        q.push(job("a", 1, "c", 0, 4), ms(90));
        assert_eq!(
            q.next_batch(ms(91), any_cap, true).expect("flushed").cut,
            Cut::Flush
        );
        assert!(q.is_empty());
    }

    #[test]
    fn deadlines_expire_and_wake_the_caller() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 10,
            max_wait: ms(1000),
        });
        let mut j = job("a", 1, "c", 0, 1);
        j.deadline = Some(ms(30));
        q.push(j, ms(0));
        q.push(job("a", 1, "c", 0, 2), ms(0));
        assert_eq!(q.next_wakeup(any_cap), Some(ms(30)));
        assert!(q.expire(ms(29)).is_empty());
        let gone = q.expire(ms(30));
        assert_eq!(gone.iter().map(|j| j.item).collect::<Vec<_>>(), [1]);
        assert_eq!(q.len(), 1);
        assert_eq!(q.backlog("a"), 1);
        assert_eq!(q.clear().len(), 1);
    }

    #[test]
    fn costly_jobs_are_charged_their_cost() {
        let mut q = FairQueue::new(FairConfig {
            max_batch: 1,
            max_wait: ms(0),
        });
        for i in 0..100 {
            q.push(
                JobSpec {
                    cost: 4.0,
                    ..job("heavy", 1, "big", 0, i)
                },
                ms(0),
            );
            q.push(
                JobSpec {
                    cost: 1.0,
                    ..job("light", 1, "small", 0, i)
                },
                ms(0),
            );
        }
        let mut n = HashMap::new();
        for _ in 0..50 {
            let b = q.next_batch(ms(0), any_cap, false).expect("a batch");
            *n.entry(b.jobs[0].tenant.clone()).or_insert(0) += 1;
        }
        assert_eq!(
            (n["heavy"], n["light"]),
            (10, 40),
            "equal device time, not equal job counts"
        );
    }
}
