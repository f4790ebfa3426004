//! `zkq drift detect`, `evaluate` and `watch` from the command line (issue 21, point 3): a CSV
//! with a known shift raises alarms right after it and none before; bad input is a one-line
//! error naming the line, exit 2; the evaluation is reproducible per seed; a shift injected into
//! recorded job rows in the REAL PostgreSQL is found by `watch`, in its series and scope only.

use std::path::PathBuf;
use std::process::Command;

#[allow(dead_code)]
mod common;

/// The binary under test.
const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");
/// Where the shift happens in [`shifted`]'s series.
const SHIFT_AT: usize = 400;

/// `time,value` rows: a deterministic noise of σ ≈ 1 around 10, then around 13 (+3σ) from
/// [`SHIFT_AT`] on.
fn shifted() -> String {
    let mut out = String::from("time,value\n");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..800 {
        // Sum of 12 uniforms − 6: mean 0, variance 1 (Irwin–Hall), from an LCG.
        let mut z = -6.0;
        for _ in 0..12 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            z += (state >> 11) as f64 / (1u64 << 53) as f64;
        }
        let level = if i < SHIFT_AT { 10.0 } else { 13.0 };
        out.push_str(&format!("2026-12-01T00:{:02}:{:02}Z,{:.6}\n", i / 60, i % 60, level + z));
    }
    out
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn detect_finds_a_known_shift_and_refuses_bad_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write(&dir, "cost.csv", &shifted());
    let o = Command::new(ZKQ).args(["drift", "detect", "--format", "json", "--series"]).arg(&csv).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["points"], 800);
    let alarms = v["alarms"].as_array().expect("alarms");
    for name in ["cusum", "page-hinkley", "ewma"] {
        let at: Vec<u64> = alarms.iter().filter(|a| a["detector"] == name).filter_map(|a| a["index"].as_u64()).collect();
        assert!(!at.is_empty(), "{name} found no change: {v}");
        assert!(at.iter().all(|i| *i as usize >= SHIFT_AT), "{name} alarmed before the shift: {at:?}");
        assert!((at[0] as usize) < SHIFT_AT + 50, "{name} was late: {at:?}");
        assert!(alarms.iter().any(|a| a["detector"] == name && a["direction"] == "up"));
    }
    // One detector only, text output.
    let o = Command::new(ZKQ).args(["drift", "detect", "--detector", "cusum", "--series"]).arg(&csv).output().expect("run");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && text.contains("detectors cusum") && !text.contains("ewma"), "{text}");

    for (name, body, says) in [
        ("nan.csv", "time,value\nt1,1\nt2,NaN\n", "line 3"),
        ("word.csv", "t1,1\nt2,abc\n", "line 2"),
        ("short.csv", "t1,1\nt2\n", "line 2"),
    ] {
        let p = write(&dir, name, body);
        let o = Command::new(ZKQ).args(["drift", "detect", "--series"]).arg(&p).output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(says) && err.trim_end().lines().count() == 1, "{name}: {err}");
    }
    let o = Command::new(ZKQ).args(["drift", "detect", "--series", "/no/such/file.csv"]).output().expect("run");
    assert_eq!(o.status.code(), Some(3), "a missing file is exit 3");
}

#[test]
fn evaluate_is_reproducible_per_seed_and_covers_every_detector_and_scenario() {
    let run = |seed: &str| {
        let o = Command::new(ZKQ).args(["drift", "evaluate", "--format", "json", "--seed", seed]).output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let (a, b, other) = (run("7"), run("7"), run("8"));
    assert_eq!(a, b, "one seed, one report");
    assert_ne!(a, other, "another seed, other streams");
    let v: serde_json::Value = serde_json::from_slice(&a).expect("JSON");
    let rows = v["rows"].as_array().expect("rows");
    for d in ["cusum", "page-hinkley", "ewma", "adwin"] {
        for s in ["stationary", "mean-shift", "variance", "slow-ramp", "seasonal"] {
            assert!(rows.iter().any(|r| r["detector"] == d && r["scenario"].as_str().is_some_and(|x| x.starts_with(s))), "{d} × {s} missing");
        }
    }
    let o = Command::new(ZKQ).args(["drift", "evaluate"]).output().expect("run");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("precision") && text.contains("mean-shift 1σ"), "{text}");
}

/// Jobs of the shifted cost series (before and after the shift).
const COST_JOBS: usize = 700;
/// Where the cost per proof moves from 1.0 m$ to 1.5 m$ (σ 0.05 m$: +10σ).
const COST_SHIFT_AT: usize = 450;

#[test]
fn watch_finds_a_shift_injected_into_recorded_job_rows() {
    common::run_pipeline_test("drift_watch", |env| async move {
        let pg = env.pg().await;
        // acme's jobs of the fixture circuit, one a second ending now, each with a cost row;
        // the cost per proof steps up at COST_SHIFT_AT. Queue waits and failures stay flat.
        let mut state: u64 = 7;
        for i in 0..COST_JOBS {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let noise = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.000_17; // uniform, σ ≈ 0.05 m$
            let usd = if i < COST_SHIFT_AT { 0.001 } else { 0.0015 } + noise;
            let id = format!("cost-{i:04}");
            let ago = (COST_JOBS - i) as f64;
            pg.execute(
                "insert into jobs (job_id, tenant, circuit_ref, circuit_id, state) values ($1, 'acme', 'multi_public', $2, 'proved')",
                &[&id, &env.circuit_id],
            )
            .await
            .expect("job");
            pg.execute(
                "insert into job_results (job_id, status, batch_size, received_at, queue_wait_ms, witness_load_ms, compute_h_ms,
                                          compute_a_ms, compute_b_g1_ms, compute_b_g2_ms, compute_c_ms, verify_ms, result)
                 values ($1, 'proved', 1, now() - make_interval(secs => $2), 5, 0, 0, 0, 0, 0, 0, 0, '{}')",
                &[&id, &ago],
            )
            .await
            .expect("result");
            pg.execute("insert into job_costs (job_id, device_type, device_seconds, usd) values ($1, 'cpu', 0.01, $2::float8)", &[&id, &usd])
                .await
                .expect("cost");
        }
        let o = env.zkq().args(["drift", "watch", "--since-hours", "1", "--format", "json"]).output().expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let found: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let found: Vec<&serde_json::Value> = found.as_array().expect("array").iter().map(|a| &a["alert"]).collect();
        // One alert: the cost series in its scope, up, the detectors that agreed, right after the shift.
        assert_eq!(found.len(), 1, "flat series raise nothing, one change is one alert: {found:?}");
        let a = found[0];
        assert_eq!((a["series"].as_str(), a["direction"].as_str()), (Some("cost_per_proof"), Some("up")), "{a}");
        assert_eq!(a["scope"], format!("tenant=acme circuit={}", env.circuit_id));
        let at = a["index"].as_u64().expect("index") as usize;
        assert!((COST_SHIFT_AT..COST_SHIFT_AT + 50).contains(&at), "alert at {at}, the shift is at {COST_SHIFT_AT}: {a}");
        assert!(a["detectors"].as_array().is_some_and(|d| d.iter().any(|x| x == "cusum")), "{a}");

        // --record: exactly one alert (the detectors that agreed, one row), published once to the
        // alerts exchange; watching again raises nothing new.
        let conn = lapin::Connection::connect(&env.amqp.uri, lapin::ConnectionProperties::default()).await.expect("amqp");
        let ch = conn.create_channel().await.expect("channel");
        let exchange = format!("{}.alerts", env.amqp.prefix);
        let durable = lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() };
        ch.exchange_declare(exchange.as_str().into(), lapin::ExchangeKind::Topic, durable, Default::default()).await.expect("exchange");
        let q = ch
            .queue_declare("".into(), lapin::options::QueueDeclareOptions { exclusive: true, ..Default::default() }, Default::default())
            .await
            .expect("queue");
        ch.queue_bind(q.name().as_str().into(), exchange.as_str().into(), "drift.#".into(), Default::default(), Default::default())
            .await
            .expect("bind");
        for round in 0..2 {
            let o = env.zkq().args(["drift", "watch", "--since-hours", "1", "--record", "--format", "json"]).output().expect("run");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let new: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
            assert_eq!(new.as_array().map(Vec::len), Some(if round == 0 { 1 } else { 0 }), "round {round}: {new}");
        }
        let row = pg
            .query_one("select series, scope, direction, playbook, cardinality(detectors), count(*) over () from drift_alerts", &[])
            .await
            .expect("exactly one alert row");
        let (series, scope, direction, playbook): (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!((series.as_str(), direction.as_str(), row.get::<_, i64>(5)), ("cost_per_proof", "up", 1));
        assert_eq!(scope, format!("tenant=acme circuit={}", env.circuit_id));
        assert_eq!(playbook, "docs/playbooks/DriftCostPerProof.md");
        assert!(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&playbook).is_file(), "the playbook exists");
        let mut published = Vec::new();
        while let Some(m) = ch.basic_get(q.name().as_str().into(), lapin::options::BasicGetOptions { no_ack: true }).await.expect("get") {
            published.push((m.routing_key.to_string(), serde_json::from_slice::<serde_json::Value>(&m.data).expect("JSON")));
        }
        assert_eq!(published.len(), 1, "published once: {published:?}");
        assert_eq!(published[0].0, "drift.cost_per_proof");
        assert_eq!(published[0].1["alert"]["playbook"], "docs/playbooks/DriftCostPerProof.md");
        let _ = conn.close(200, "bye".into()).await;
        let o = env.zkq().args(["drift", "watch", "--since-hours", "-1"]).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    });
}
