//! Property tests of the fair-queuing core (issue 5, point 5), with proptest:
//! - **share floor**: over any window in which a tenant stays backlogged (and which is long
//!   enough for batches and costs to average out, see `MIN_WINDOW`), it receives at least
//!   80 % of its weighted share;
//! - **bounded wait**: a job is dispatched within a bound of batches that depends only on the
//!   tenants, weights, costs and the per-tenant prefetch — never on the other tenants' backlog;
//! - **work conservation**: `next_batch` returns a batch whenever a circuit is ready (full, or
//!   waited `max_wait`) and fits the device, and `next_wakeup` names the instant one will be;
//! - **no banked credit**: a tenant returning from idle starts at the current virtual time.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use zkq_scheduler::fair::{FairConfig, FairQueue, JobSpec};

#[derive(Debug, Clone)]
struct Tenant {
    weight: u32,
    /// (circuit, cost) of the jobs it sends, cycled.
    circuits: Vec<(usize, f64)>,
}

fn tenants() -> impl Strategy<Value = Vec<Tenant>> {
    prop::collection::vec(
        (1u32..=4, prop::collection::vec((0usize..3, 1u32..=3), 1..3)).prop_map(|(weight, cs)| Tenant {
            weight,
            circuits: cs.into_iter().map(|(c, k)| (c, f64::from(k) * 0.5)).collect(),
        }),
        2..7,
    )
}

fn spec(t: usize, tenant: &Tenant, n: usize) -> JobSpec<(usize, usize)> {
    let (circuit, cost) = tenant.circuits[n % tenant.circuits.len()];
    JobSpec {
        item: (t, n),
        tenant: format!("t{t}"),
        weight: tenant.weight,
        circuit: format!("c{circuit}"),
        priority: 0,
        cost,
        deadline: None,
    }
}

const NOW: Duration = Duration::ZERO;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every tenant backlogged all the time (the worker refills each to its prefetch, the base ×
    /// its weight: `PrefetchRule::Weighted`, the default); every window of at least MIN_WINDOW
    /// cost gives each tenant ≥ 80 % of its weighted share.
    ///
    /// With a flat prefetch the floor does not hold, and no queue order can make it hold: a batch
    /// is one circuit, so a heavy tenant whose held jobs are split over circuits has fewer of the
    /// batch's circuit queued than its share of the batch (proptest found weight 3 over two
    /// circuits, 16 held each, batches of 15: 79.6 %). The worker holds `base × weight` per tenant
    /// (issue 15), which this models.
    #[test]
    fn backlogged_tenants_get_their_weighted_share(ts in tenants(), max_batch in 1usize..=16, prefetch_extra in 0usize..16) {
        let base = max_batch + prefetch_extra;
        let prefetch_of = |t: &Tenant| base * t.weight as usize;
        let w_sum: f64 = ts.iter().map(|t| f64::from(t.weight)).sum();
        let w_min = ts.iter().map(|t| t.weight).min().unwrap_or(1) as f64;
        let c_max = 1.5;
        // Long enough that the weakest tenant's share is many of its largest jobs plus a few
        // batches of slack at each end (the pass bound is one max-cost job per tenant; a batch adds
        // at most `max_batch` jobs served ahead of their tags, bounded by the prefetch).
        let min_window = 5.0 * (w_sum / w_min) * c_max * (2.0 + 2.0 * base as f64);
        let mut q = FairQueue::new(FairConfig { max_batch, max_wait: Duration::ZERO });
        let mut sent = vec![0usize; ts.len()];
        let mut held = vec![0usize; ts.len()];
        // Per batch: service (cost) per tenant. Serve three windows' worth, so that windows
        // starting anywhere in the first two thirds complete.
        let mut log: Vec<Vec<f64>> = Vec::new();
        let mut served = 0.0;
        while served < 3.0 * min_window {
            for (t, tenant) in ts.iter().enumerate() {
                while held[t] < prefetch_of(tenant) {
                    q.push(spec(t, tenant, sent[t]), NOW);
                    sent[t] += 1;
                    held[t] += 1;
                }
            }
            let batch = q.next_batch(NOW, |_| usize::MAX, false).expect("work is queued: a batch");
            let mut row = vec![0.0; ts.len()];
            for j in &batch.jobs {
                row[j.item.0] += j.cost;
                served += j.cost;
                held[j.item.0] -= 1;
            }
            log.push(row);
        }
        let mut checked = 0usize;
        for start in (0..log.len()).step_by((log.len() / 60).max(1)) {
            let mut total = 0.0;
            let mut per = vec![0.0; ts.len()];
            for row in &log[start..] {
                for (t, v) in row.iter().enumerate() {
                    per[t] += v;
                    total += v;
                }
                if total >= min_window {
                    for (t, tenant) in ts.iter().enumerate() {
                        let share = total * f64::from(tenant.weight) / w_sum;
                        prop_assert!(per[t] >= 0.8 * share, "tenant {t} (w {}) got {:.1} of share {:.1} in a window of {total:.1} from batch {start}", tenant.weight, per[t], share);
                    }
                    checked += 1;
                    break;
                }
            }
        }
        prop_assert!(checked >= 30, "only {checked} windows of {min_window:.0} in {} batches: the run proves nothing", log.len());
    }

    /// Arbitrary arrivals (bursts, idle gaps) into one priority class: each job is dispatched
    /// within Σ_j (P + P·(c_i w_j)/(w_i c_j) + 1) batches of its arrival.
    #[test]
    fn no_job_waits_without_bound(ts in tenants(), max_batch in 1usize..=8, bursts in prop::collection::vec((0usize..6, 0usize..40), 1..60)) {
        let prefetch = 2 * max_batch;
        let mut q = FairQueue::new(FairConfig { max_batch, max_wait: Duration::ZERO });
        let mut sent = vec![0usize; ts.len()];
        let mut broker = vec![0usize; ts.len()];
        let mut held = vec![0usize; ts.len()];
        let mut arrived_at: HashMap<(usize, usize), usize> = HashMap::new();
        let mut batches = 0usize;
        let c = |t: &Tenant| t.circuits.iter().map(|x| x.1).fold(0.0, f64::max);
        let cmin = |t: &Tenant| t.circuits.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
        let bound = |i: usize| -> usize {
            ts.iter().map(|tj| {
                let ratio = (c(&ts[i]) * f64::from(tj.weight)) / (f64::from(ts[i].weight) * cmin(tj));
                prefetch + (prefetch as f64 * ratio).ceil() as usize + 1
            }).sum()
        };
        let step = |q: &mut FairQueue<(usize, usize)>, broker: &mut Vec<usize>, held: &mut Vec<usize>, sent: &mut Vec<usize>, arrived_at: &mut HashMap<(usize, usize), usize>, batches: &mut usize| -> Result<bool, TestCaseError> {
            for (t, tenant) in ts.iter().enumerate() {
                while held[t] < prefetch && broker[t] > 0 {
                    broker[t] -= 1;
                    held[t] += 1;
                    arrived_at.insert((t, sent[t]), *batches);
                    q.push(spec(t, tenant, sent[t]), NOW);
                    sent[t] += 1;
                }
            }
            let Some(batch) = q.next_batch(NOW, |_| usize::MAX, false) else { return Ok(false) };
            for j in &batch.jobs {
                let waited = *batches - arrived_at[&j.item];
                prop_assert!(waited <= bound(j.item.0), "job {:?} waited {waited} batches, bound {}", j.item, bound(j.item.0));
                held[j.item.0] -= 1;
            }
            *batches += 1;
            Ok(true)
        };
        for (tenant, n) in bursts {
            if let Some(b) = broker.get_mut(tenant) {
                *b += n;
            }
            // A few batches between bursts; sometimes the queue runs dry (idle tenants return).
            for _ in 0..3 {
                step(&mut q, &mut broker, &mut held, &mut sent, &mut arrived_at, &mut batches)?;
            }
        }
        while step(&mut q, &mut broker, &mut held, &mut sent, &mut arrived_at, &mut batches)? {}
        prop_assert!(q.is_empty() && broker.iter().all(|b| *b == 0), "everything is served in the end");
    }

    /// Random pushes and polls with a latency budget and memory caps: `next_batch` yields a batch
    /// exactly when some circuit is full or has waited `max_wait` (checked against a shadow
    /// model), and never idles at a `next_wakeup` instant.
    #[test]
    fn the_core_is_work_conserving(
        ops in prop::collection::vec((0u64..30, 0usize..3, 0usize..4, any::<bool>()), 1..120),
        max_batch in 1usize..=6,
        max_wait_ms in 0u64..50,
        caps in prop::collection::vec(0usize..5, 3),
    ) {
        let max_wait = Duration::from_millis(max_wait_ms);
        let mut q = FairQueue::new(FairConfig { max_batch, max_wait });
        let cap = |c: &str| caps[c[1..].parse::<usize>().unwrap_or(0)];
        let mut now = Duration::ZERO;
        let mut shadow: Vec<(usize, Duration)> = Vec::new();
        let mut n = 0usize;
        for (dt, circuit, tenant, poll) in ops {
            now += Duration::from_millis(dt);
            if caps[circuit] > 0 || !poll {
                // Admission keeps circuits that fit no device out; a few slip in to prove they never run.
                q.push(JobSpec { item: n, tenant: format!("t{tenant}"), weight: tenant as u32 + 1, circuit: format!("c{circuit}"), priority: 0, cost: 1.0, deadline: None }, now);
                shadow.push((circuit, now));
                n += 1;
            }
            if poll {
                loop {
                    let ready = (0..3).any(|c| {
                        let jobs: Vec<&(usize, Duration)> = shadow.iter().filter(|(x, _)| *x == c).collect();
                        let limit = max_batch.min(caps[c]);
                        limit > 0 && !jobs.is_empty() && (jobs.len() >= limit || jobs.iter().any(|(_, at)| now.saturating_sub(*at) >= max_wait))
                    });
                    prop_assert_eq!(q.has_ready(now, cap, false), ready);
                    match q.next_batch(now, cap, false) {
                        Some(b) => {
                            prop_assert!(ready, "a batch only when one is ready");
                            let c: usize = b.circuit[1..].parse().unwrap_or(99);
                            prop_assert!(!b.jobs.is_empty() && b.jobs.len() <= max_batch.min(caps[c]), "size within the caps");
                            for j in &b.jobs {
                                let pos = shadow.iter().position(|(x, at)| *x == c && *at == j.arrived).expect("shadow has it");
                                shadow.remove(pos);
                            }
                        }
                        None => {
                            prop_assert!(!ready, "idle while a ready batch fits: work conservation violated");
                            break;
                        }
                    }
                }
                if let Some(w) = q.next_wakeup(cap) {
                    prop_assert!(w >= now || q.has_ready(w, cap, false));
                    prop_assert!(q.has_ready(w.max(now), cap, false), "next_wakeup names an instant at which a batch is ready");
                }
            }
        }
    }

    /// A tenant that was idle gets no credit: its first job starts at the current virtual time.
    #[test]
    fn an_idle_tenant_banks_no_credit(ts in tenants(), served in 1usize..200, away in 0usize..200) {
        let mut q = FairQueue::new(FairConfig { max_batch: 4, max_wait: Duration::ZERO });
        let mut sent = vec![0usize; ts.len()];
        for round in 0..(served + away) {
            for (t, tenant) in ts.iter().enumerate().skip(1) {
                q.push(spec(t, tenant, sent[t]), NOW);
                sent[t] += 1;
            }
            if round < served {
                q.push(spec(0, &ts[0], sent[0]), NOW);
                sent[0] += 1;
            }
            q.next_batch(NOW, |_| usize::MAX, false);
        }
        while q.backlog("t0") > 0 {
            q.next_batch(NOW, |_| usize::MAX, false);
        }
        let v = q.virtual_time(0);
        let start = q.push(spec(0, &ts[0], sent[0]), NOW);
        prop_assert!(start >= v, "start {start} below the virtual time {v}: banked credit");
    }
}
