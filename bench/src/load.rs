//! The pure parts of `zkq-loadgen`, the open-loop load generator: the arrival schedule, job
//! ids, latency histograms, per-column summaries and the per-process CPU split. No I/O except
//! reading `/proc` in [`cpu`].
//!
//! ## Open loop, no coordinated omission
//! Job `i` is *scheduled* at `t0 + i / rate`, whatever happened to earlier jobs; its latency is
//! `result received − scheduled send`, both read from one monotonic clock ([`Instant`]) in the
//! generator. A generator that falls behind (a stalled publish) therefore charges the delay to
//! the jobs it delayed instead of silently sending fewer of them, which is the coordinated
//! omission that closed-loop load generators suffer from.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// When each job is due and which jobs are measured.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When job 0 is due.
    pub t0: Instant,
    /// Arrival rate, jobs per second.
    pub rate: f64,
    /// Jobs in the warm-up (published and answered, not recorded): indices `0..warmup_jobs`.
    pub warmup_jobs: u64,
    /// Jobs measured: indices `warmup_jobs..warmup_jobs + measured_jobs`.
    pub measured_jobs: u64,
}

impl Schedule {
    /// A schedule of `rate` jobs/s: `warmup_s` seconds not recorded, then `duration_s` recorded.
    pub fn new(t0: Instant, rate: f64, warmup_s: f64, duration_s: f64) -> Self {
        let jobs = |s: f64| (s * rate).round().max(0.0) as u64;
        Self {
            t0,
            rate,
            warmup_jobs: jobs(warmup_s),
            measured_jobs: jobs(duration_s),
        }
    }

    /// Every job, warm-up included.
    pub fn total_jobs(&self) -> u64 {
        self.warmup_jobs + self.measured_jobs
    }

    /// Offset of job `i`'s scheduled send from `t0`.
    pub fn offset(&self, i: u64) -> Duration {
        Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// When job `i` is due.
    pub fn at(&self, i: u64) -> Instant {
        self.t0 + self.offset(i)
    }

    /// Whether job `i` is measured (not warm-up, not past the end).
    pub fn is_measured(&self, i: u64) -> bool {
        (self.warmup_jobs..self.total_jobs()).contains(&i)
    }

    /// Start of the measured window: when the first measured job is due.
    pub fn window_start(&self) -> Instant {
        self.at(self.warmup_jobs)
    }

    /// End of the measured window: when the job after the last one would be due.
    pub fn window_end(&self) -> Instant {
        self.at(self.total_jobs())
    }
}

/// Job ids of one run: `lg-<run>-<index>`, so a result names its job's schedule slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobIds {
    prefix: String,
}

impl JobIds {
    /// Ids for the run `run` (letters and digits).
    pub fn new(run: &str) -> Self {
        Self {
            prefix: format!("lg-{run}-"),
        }
    }

    /// The id of job `i`.
    pub fn id(&self, i: u64) -> String {
        format!("{}{i}", self.prefix)
    }

    /// The index of a job of this run, `None` for any other id.
    pub fn index(&self, id: &str) -> Option<u64> {
        id.strip_prefix(&self.prefix)?.parse().ok()
    }

    /// The common prefix (`lg-<run>-`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// An HdrHistogram of durations in microseconds, 1 µs to 60 s, 3 significant digits; longer
/// values are recorded as 60 s.
#[derive(Debug, Clone)]
pub struct LatencyHistogram(Histogram<u64>);

/// Highest trackable latency, µs.
const HIGHEST_US: u64 = 60_000_000;

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        #[allow(clippy::unwrap_used)] // constant, valid bounds
        Self(Histogram::new_with_bounds(1, HIGHEST_US, 3).unwrap())
    }

    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        self.0
            .saturating_record(u64::try_from(d.as_micros()).unwrap_or(HIGHEST_US));
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at `q` (0–1), milliseconds (0 when empty).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(q) as f64 / 1e3
    }

    /// Forgets every value.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// The summary the report prints.
    pub fn summary(&self) -> LatencySummary {
        let empty = self.0.is_empty();
        let f = |v: u64| if empty { 0.0 } else { v as f64 / 1e3 };
        LatencySummary {
            count: self.0.len(),
            mean_ms: if empty { 0.0 } else { self.0.mean() / 1e3 },
            p50_ms: self.quantile_ms(0.50),
            p95_ms: self.quantile_ms(0.95),
            p99_ms: self.quantile_ms(0.99),
            p999_ms: self.quantile_ms(0.999),
            max_ms: f(self.0.max()),
        }
    }
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// Mean and 95th percentile (nearest rank) of a column of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ColumnSummary {
    /// Mean.
    pub mean: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl ColumnSummary {
    /// Summarises `values` (NaNs ignored); zeros for an empty column.
    pub fn of(values: &[f64]) -> Self {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Self {
                mean: 0.0,
                p95: 0.0,
                max: 0.0,
            };
        }
        v.sort_by(f64::total_cmp);
        let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Self {
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p95: v[rank - 1],
            max: v[v.len() - 1],
        }
    }
}

/// Per-process CPU accounting from `/proc` (Linux; elsewhere every snapshot is empty).
///
/// Processes are attributed by pid where the roles are known — the worker child, the process
/// listening on the broker's port and the one listening on the database's port, each with its
/// direct children (PostgreSQL's backends, Erlang's port helpers) — so that another RabbitMQ
/// node, PostgreSQL cluster or `zkq` on the same machine counts as *other*. A role whose pid is
/// unknown falls back to command names (`zkq`, `beam.smp`, `postgres`).
pub mod cpu {
    use std::collections::HashMap;

    use serde::Serialize;

    /// One process in a [`Snapshot`].
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Proc {
        /// Command name (`comm`).
        pub comm: String,
        /// Parent pid.
        pub ppid: u32,
        /// utime + stime, clock ticks.
        pub ticks: u64,
    }

    /// CPU time of every process and of the whole machine at one instant, in clock ticks.
    #[derive(Debug, Clone, Default)]
    pub struct Snapshot {
        /// pid → process.
        pub procs: HashMap<u32, Proc>,
        /// Machine-wide busy ticks (all CPUs): user, nice, system, irq, softirq, steal.
        pub busy: u64,
        /// Machine-wide idle ticks (all CPUs): idle, iowait.
        pub idle: u64,
    }

    /// Parses one `/proc/<pid>/stat` line. The command sits in parentheses and may itself
    /// contain spaces and parentheses: the fields after it start after the *last* `)`.
    pub fn parse_pid_stat(line: &str) -> Option<Proc> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let comm = line.get(open + 1..close)?.to_owned();
        let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
        // rest[0] is field 3 (state), rest[1] field 4 (ppid); utime and stime are fields 14, 15.
        let ppid: u32 = rest.get(1)?.parse().ok()?;
        let utime: u64 = rest.get(11)?.parse().ok()?;
        let stime: u64 = rest.get(12)?.parse().ok()?;
        Some(Proc {
            comm,
            ppid,
            ticks: utime + stime,
        })
    }

    /// Parses the aggregate `cpu` line of `/proc/stat` into (busy, idle) ticks.
    pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        Some((at(0) + at(1) + at(2) + at(5) + at(6) + at(7), at(3) + at(4)))
    }

    /// Socket inodes listening on TCP `port`, from `/proc/net/tcp` and `/proc/net/tcp6` text.
    pub fn listening_inodes(tables: &[&str], port: u16) -> Vec<u64> {
        let mut out = Vec::new();
        for table in tables {
            for line in table.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                    continue;
                };
                let local_port = local
                    .rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                if *state == "0A" && local_port == Some(port) {
                    if let Ok(i) = inode.parse() {
                        out.push(i);
                    }
                }
            }
        }
        out
    }

    /// The process listening on TCP `port` on this machine (needs permission to read other
    /// users' `/proc/<pid>/fd`, i.e. root, when the server runs as another user).
    pub fn listener_pid(port: u16) -> Option<u32> {
        let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let tcp6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
        let inodes = listening_inodes(&[&tcp, &tcp6], port);
        if inodes.is_empty() {
            return None;
        }
        let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
                continue;
            };
            for fd in fds.flatten() {
                if let Ok(target) = std::fs::read_link(fd.path()) {
                    if wanted.iter().any(|w| target.as_os_str() == w.as_str()) {
                        return Some(pid);
                    }
                }
            }
        }
        None
    }

    impl Snapshot {
        /// Reads `/proc` now (empty where there is no `/proc`).
        pub fn take() -> Self {
            let mut s = Snapshot::default();
            if let Some((busy, idle)) = std::fs::read_to_string("/proc/stat")
                .ok()
                .as_deref()
                .and_then(parse_proc_stat)
            {
                s.busy = busy;
                s.idle = idle;
            }
            let Ok(dir) = std::fs::read_dir("/proc") else {
                return s;
            };
            for entry in dir.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                if let Some(p) = std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .as_deref()
                    .and_then(parse_pid_stat)
                {
                    s.procs.insert(pid, p);
                }
            }
            s
        }
    }

    /// The pids of the roles, where known.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Roles {
        /// This load generator.
        pub loadgen: u32,
        /// The worker (e.g. the spawned child).
        pub worker: Option<u32>,
        /// The broker (listening on the AMQP port).
        pub broker: Option<u32>,
        /// The database server's postmaster (listening on the PostgreSQL port).
        pub database: Option<u32>,
    }

    impl Roles {
        /// Which group (0 worker, 1 broker, 2 database, 3 loadgen) a process belongs to.
        fn group(&self, pid: u32, p: &Proc) -> Option<usize> {
            let is = |root: Option<u32>, names: &[&str]| match root {
                Some(r) => pid == r || p.ppid == r,
                None => names.contains(&p.comm.as_str()),
            };
            if pid == self.loadgen {
                Some(3)
            } else if is(self.worker, &["zkq"]) {
                Some(0)
            } else if is(
                self.broker,
                &["beam.smp", "erl_child_setup", "epmd", "inet_gethost"],
            ) {
                Some(1)
            } else if is(self.database, &["postgres"]) {
                Some(2)
            } else {
                None
            }
        }
    }

    /// Where the CPU went between two snapshots, in percent of one core (a fully busy 2-core
    /// machine shows 200 % in all).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
    pub struct Split {
        /// The worker.
        pub zkq_worker: f64,
        /// RabbitMQ.
        pub rabbitmq: f64,
        /// PostgreSQL.
        pub postgres: f64,
        /// This load generator.
        pub loadgen: f64,
        /// Every other process (other brokers, databases, builds, tests…), and the kernel's
        /// interrupt handling.
        pub other: f64,
        /// Idle (iowait included).
        pub idle: f64,
        /// Logical CPUs (the ceiling is 100 % times this).
        pub cpus: usize,
        /// Whether the groups were found by pid (true) or by command name (false), in the order
        /// worker, broker, database.
        pub by_pid: [bool; 3],
    }

    impl Split {
        /// The split between `a` and `b` over `seconds`. `ticks_per_s` is the kernel's
        /// `CLK_TCK` (100 on Linux). A process present only in `b` counts from zero; one gone
        /// by `b` is not counted.
        pub fn between(
            a: &Snapshot,
            b: &Snapshot,
            seconds: f64,
            ticks_per_s: f64,
            roles: &Roles,
            cpus: usize,
        ) -> Split {
            let mut g = [0u64; 4];
            for (pid, p) in &b.procs {
                let Some(i) = roles.group(*pid, p) else {
                    continue;
                };
                let before = a
                    .procs
                    .get(pid)
                    .filter(|q| q.comm == p.comm)
                    .map_or(0, |q| q.ticks);
                g[i] += p.ticks.saturating_sub(before);
            }
            let pct = |ticks: u64| {
                if seconds > 0.0 {
                    ticks as f64 / ticks_per_s / seconds * 100.0
                } else {
                    0.0
                }
            };
            let busy = b.busy.saturating_sub(a.busy);
            let grouped: u64 = g.iter().sum();
            Split {
                zkq_worker: pct(g[0]),
                rabbitmq: pct(g[1]),
                postgres: pct(g[2]),
                loadgen: pct(g[3]),
                other: pct(busy.saturating_sub(grouped)),
                idle: pct(b.idle.saturating_sub(a.idle)),
                cpus,
                by_pid: [
                    roles.worker.is_some(),
                    roles.broker.is_some(),
                    roles.database.is_some(),
                ],
            }
        }
    }

    /// The kernel's clock ticks per second.
    pub fn ticks_per_second() -> f64 {
        #[cfg(unix)]
        {
            // SAFETY: sysconf only reads a configuration value.
            let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
            if t > 0 {
                return t as f64;
            }
        }
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_spaces_jobs_evenly_and_splits_warmup() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 200.0, 2.0, 10.0);
        assert_eq!(
            (s.warmup_jobs, s.measured_jobs, s.total_jobs()),
            (400, 2000, 2400)
        );
        assert_eq!(s.at(0), t0);
        assert_eq!(s.offset(200), Duration::from_secs(1));
        assert_eq!(s.offset(1), Duration::from_millis(5));
        assert!(!s.is_measured(399) && s.is_measured(400) && s.is_measured(2399));
        assert!(!s.is_measured(2400));
        assert_eq!(s.window_start(), t0 + Duration::from_secs(2));
        assert_eq!(s.window_end(), t0 + Duration::from_secs(12));
    }

    #[test]
    fn job_ids_round_trip_and_reject_strangers() {
        let ids = JobIds::new("ab12");
        assert_eq!(ids.id(7), "lg-ab12-7");
        assert_eq!(ids.index("lg-ab12-7"), Some(7));
        assert_eq!(ids.index("lg-ab13-7"), None);
        assert_eq!(ids.index("lg-ab12-x"), None);
        assert!(zkq_scheduler::protocol::valid_job_id(&ids.id(u64::MAX)));
    }

    #[test]
    fn histogram_quantiles_within_three_digits() {
        let mut h = LatencyHistogram::new();
        assert_eq!(h.summary().p99_ms, 0.0);
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        h.record(Duration::from_secs(3600)); // saturates at 60 s
        let s = h.summary();
        assert_eq!(s.count, 1001);
        // Three significant digits: every value within 0.1 % (HdrHistogram reports the top of
        // a value's bucket).
        let close = |got: f64, want: f64| (got - want).abs() <= want * 1e-3;
        assert!(close(s.p50_ms, 500.0) || close(s.p50_ms, 501.0), "{s:?}");
        assert!(close(s.p95_ms, 950.0) || close(s.p95_ms, 951.0), "{s:?}");
        assert!(close(s.max_ms, 60_000.0), "{s:?}");
        h.reset();
        assert!(h.is_empty());
    }

    #[test]
    fn column_summary_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = ColumnSummary::of(&v);
        assert_eq!((s.mean, s.p95, s.max), (10.5, 19.0, 20.0));
        assert_eq!(ColumnSummary::of(&[]).p95, 0.0);
        assert_eq!(ColumnSummary::of(&[f64::NAN, 2.0]).mean, 2.0);
    }

    #[test]
    fn proc_stat_lines_parse() {
        let line = "4242 (beam (x) y) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 30 0";
        let p = cpu::parse_pid_stat(line).expect("parses");
        assert_eq!((p.comm.as_str(), p.ppid, p.ticks), ("beam (x) y", 1, 200));
        let stat = "cpu  100 5 50 1000 10 1 2 3 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(cpu::parse_proc_stat(stat), Some((161, 1010)));
    }

    #[test]
    fn listening_sockets_by_port() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1629 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107        0 31337 1 0
   1: 0100007F:1629 0100007F:D431 01 00000000:00000000 00:00000000 00000000   107        0 42 1 0
   2: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107        0 777 1 0";
        assert_eq!(cpu::listening_inodes(&[tcp], 5673), vec![31337]);
        assert_eq!(cpu::listening_inodes(&[tcp], 5432), vec![777]);
        assert!(cpu::listening_inodes(&[tcp], 80).is_empty());
    }

    #[test]
    fn cpu_split_by_pid_and_by_name() {
        let p = |comm: &str, ppid: u32, ticks: u64| cpu::Proc {
            comm: comm.into(),
            ppid,
            ticks,
        };
        let mut a = cpu::Snapshot::default();
        let mut b = cpu::Snapshot::default();
        a.procs.insert(10, p("zkq", 1, 100));
        b.procs.insert(10, p("zkq", 1, 250));
        b.procs.insert(11, p("zkq", 1, 40)); // another worker
        b.procs.insert(20, p("postgres", 1, 30)); // postmaster
        b.procs.insert(21, p("postgres", 20, 20)); // its backend
        b.procs.insert(30, p("postgres", 1, 60)); // another cluster
        b.procs.insert(3, p("zkq-loadgen", 1, 10));
        (a.busy, b.busy, a.idle, b.idle) = (0, 400, 0, 0);
        let roles = cpu::Roles {
            loadgen: 3,
            worker: Some(10),
            broker: None,
            database: Some(20),
        };
        let s = cpu::Split::between(&a, &b, 2.0, 100.0, &roles, 2);
        assert_eq!(
            (s.zkq_worker, s.postgres, s.loadgen, s.rabbitmq, s.other),
            (75.0, 25.0, 5.0, 0.0, 95.0)
        );
        assert_eq!(s.by_pid, [true, false, true]);
        let by_name = cpu::Roles {
            loadgen: 3,
            ..Default::default()
        };
        let s = cpu::Split::between(&a, &b, 2.0, 100.0, &by_name, 2);
        let r = |x: f64| (x * 1e6).round() / 1e6;
        assert_eq!(
            (r(s.zkq_worker), r(s.postgres), r(s.other)),
            (95.0, 55.0, 45.0)
        );
    }
}
