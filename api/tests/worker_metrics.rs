//! The worker's FinOps and observability wiring end to end, against the REAL RabbitMQ and
//! PostgreSQL with a real `zkq worker`: its `/metrics` endpoint counts jobs by outcome, batch
//! sizes, end-to-end latencies, key-cache hits and misses and accrued cost; its batches record
//! the region and the key-cache hit; its heartbeat keeps a `worker_uptime` row current.
//! (Harness and isolation: `common/mod.rs`.)

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkq_scheduler::client::Submitter;
use zkq_engine::fixtures::MULTI_PUBLIC;

use common::{publish_confirmed, record_queued, run_pipeline_test, witness_bytes, Db, Worker};

async fn scrape(addr: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect to /metrics");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: zkq\r\n\r\n").await.expect("request");
    let mut text = String::new();
    s.read_to_string(&mut text).await.expect("response");
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text
}

/// The value of the sample line starting with `series ` (exact series text, labels included).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
        .trim()
        .parse()
        .expect("number")
}

#[test]
fn metrics_endpoint_batch_records_and_uptime_heartbeats() {
    run_pipeline_test("metrics", |env| async move {
        const JOBS: usize = 12;
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let addr = format!("127.0.0.1:{port}");
        let witness = witness_bytes(MULTI_PUBLIC);
        let jobs: Vec<_> = (0..JOBS).map(|i| env.good_job(&format!("metrics-{i:03}"), &witness)).collect();
        record_queued(&env, &jobs).await;
        let submitter = Submitter::connect(&env.amqp).await.expect("submitter");
        assert_eq!(publish_confirmed(&submitter, &jobs).await.len(), JOBS);

        let mut worker = Worker::start(
            &env,
            "metrics-0",
            &["--max-batch", "4", "--max-wait-ms", "50", "--metrics-addr", &addr, "--region", "eu-west-1", "--heartbeat-secs", "1", "--metrics-batch-buckets", "1,4,16"],
        );
        let mut db = Db::new(&env);
        let t = Instant::now();
        while db.results().await != Some(JOBS as i64) {
            assert!(t.elapsed() < Duration::from_secs(120), "results did not arrive\n{}", worker.log_tail(30));
            assert!(worker.is_running(), "the worker exited\n{}", worker.log_tail(30));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let text = scrape(&addr).await;
        assert!(text.contains("text/plain; version=0.0.4"));
        assert_eq!(sample(&text, "zkq_jobs_total{outcome=\"proved\"}"), JOBS as f64);
        assert_eq!(sample(&text, "zkq_jobs_total{outcome=\"failed\"}"), 0.0);
        let batches = sample(&text, "zkq_batch_size_count");
        assert_eq!(sample(&text, "zkq_batch_size_sum"), JOBS as f64, "batch sizes add up to the jobs");
        assert_eq!(sample(&text, "zkq_batch_size_bucket{le=\"16\"}"), batches, "the configured buckets are used");
        assert_eq!(sample(&text, "zkq_job_end_to_end_seconds_count"), JOBS as f64);
        let (hits, misses) = (sample(&text, "zkq_key_cache_hits_total"), sample(&text, "zkq_key_cache_misses_total"));
        assert_eq!(hits + misses, batches, "one key look-up per batch");
        assert_eq!(misses, 1.0, "the key is loaded once, then cached");
        assert!(sample(&text, "zkq_cost_usd_total{device_type=\"cpu-2core\"}") > 0.0, "cost accrues at the seeded cpu-2core price");
        assert!(sample(&text, "zkq_device_seconds_total{device_type=\"cpu-2core\"}") > 0.0);
        assert_eq!(sample(&text, "zkq_oldest_queued_job_age_seconds"), 0.0, "nothing is queued any more");

        let pg = env.pg().await;
        let row = pg
            .query_one("select count(*), count(*) filter (where region = 'eu-west-1'), count(*) filter (where key_cache_hit = false) from batches", &[])
            .await
            .expect("batches");
        let (n, in_region, missed): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(n as f64, batches);
        assert_eq!(in_region, n, "every batch records the worker's region");
        assert_eq!(missed, 1, "the first batch missed the key cache");
        let up = pg
            .query_one("select region, extract(epoch from last_seen_at - started_at)::float8 from worker_uptime where worker_id = 'metrics-0'", &[])
            .await
            .expect("one uptime row");
        assert_eq!(up.get::<_, Option<String>>(0).as_deref(), Some("eu-west-1"));
        let seen: f64 = up.get(1);
        assert!(seen >= 1.0, "heartbeats moved last_seen_at forward ({seen} s)");

        let (status, _) = worker.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "{}", worker.log_tail(20));
        let after: f64 = pg
            .query_one("select extract(epoch from last_seen_at - started_at)::float8 from worker_uptime where worker_id = 'metrics-0'", &[])
            .await
            .expect("uptime")
            .get(0);
        assert!(after >= seen, "the last beat at shutdown");
    });
}
