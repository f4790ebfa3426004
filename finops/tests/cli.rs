//! `zkq-finops` end to end against the REAL PostgreSQL: each test gets its own schema with
//! zkq's migrations (`store/migrations/*.sql`, from zkq-store) applied, inserts a small fixed data set,
//! and runs the binary. Expected figures are computed by hand in the comments.
//!
//! Connects to `host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test` (override with
//! `ZKQ_TEST_PG`), which `scripts/services.sh` creates.

use std::process::{Command, Output};

use postgres::{Client, NoTls};

const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";

fn base_url() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// A schema of its own with the migrations applied; dropped on drop.
struct Schema {
    name: String,
    url: String,
}

impl Schema {
    fn new(test: &str) -> Schema {
        let name = format!("zkq_fin_{test}_{}", std::process::id());
        let mut admin = Client::connect(&base_url(), NoTls).unwrap_or_else(|e| panic!("cannot connect to the test database ({}): {e}; run scripts/services.sh", base_url()));
        admin.batch_execute(&format!("drop schema if exists {name} cascade; create schema {name}")).expect("schema");
        let url = format!("{} options=-csearch_path={name}", base_url());
        let mut c = Client::connect(&url, NoTls).expect("connect to the schema");
        // zkq's schema, as zkq-store migrates it.
        for m in zkq_store::MIGRATIONS {
            c.batch_execute(m.sql).unwrap_or_else(|e| panic!("migration {} {}: {e}", m.version, m.name));
        }
        Schema { name, url }
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&base_url(), NoTls) {
            let _ = admin.batch_execute(&format!("drop schema if exists {} cascade", self.name));
        }
    }
}

const CIRCUIT: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// The fixed data set (as the library's unit tests): a 1-device worker w1 up 09:00–11:00 on
/// 2026-11-16 at $36/h ($0.01/device-s); broker $2/h, database $6/h.
/// 09:xx: tenant a, 2 jobs × 150 s. 10:xx: tenant a 3 × 100 s, tenant b 1 × 100 s.
fn seed(c: &mut Client) {
    c.batch_execute(&format!(
        "insert into prices (provider, region, instance_type, device_type, devices_per_instance, pricing_category, usd_per_hour, valid_from, source)
             values ('aws', 'us-east-1', 'g1', 'gpu', 1, 'on-demand', 36, '2026-01-01T00:00:00Z', 'test');
         insert into circuits (id, name, version, n_vars, n_public, n_constraints, domain_size, zkey_bytes)
             values ('{CIRCUIT}', 'mul', 1, 4, 1, 2, 4, 100);
         insert into worker_uptime (worker_id, started_at, last_seen_at, device, device_type, devices, region)
             values ('w1', '2026-11-16T09:00:00Z', '2026-11-16T11:00:00Z', 'gpu0', 'gpu', 1, 'us-east-1');
         insert into shared_costs (component, usd_per_hour, valid_from) values ('broker', 2, '2026-01-01'), ('database', 6, '2026-01-01');"
    ))
    .expect("seed");
    let price_id: i64 = c.query_one("select id from prices where device_type = 'gpu'", &[]).expect("price").get(0);
    let jobs = [
        ("p1", "a", "2026-11-16T09:20:00Z", 150.0, 100.0, false),
        ("p2", "a", "2026-11-16T09:40:00Z", 150.0, 300.0, true),
        ("c1", "a", "2026-11-16T10:10:00Z", 100.0, 100.0, false),
        ("c2", "a", "2026-11-16T10:20:00Z", 100.0, 200.0, true),
        ("c3", "a", "2026-11-16T10:30:00Z", 100.0, 300.0, true),
        ("c4", "b", "2026-11-16T10:40:00Z", 100.0, 400.0, true),
    ];
    for (id, tenant, done, seconds, prove_ms, hit) in jobs {
        let done: chrono::DateTime<chrono::Utc> = done.parse().expect("t");
        let started = done - chrono::Duration::seconds(seconds as i64);
        let batch = uuid_for(id);
        c.execute("insert into jobs (job_id, tenant, circuit_ref, circuit_id, state) values ($1, $2, 'mul', $3, 'proved')", &[&id, &tenant, &CIRCUIT]).expect("job");
        c.execute(
            "insert into batches (id, worker_id, backend, device, device_type, circuit_id, size, started_at, finished_at, device_seconds, price_id, region, key_cache_hit)
             values ($1::text::uuid, 'w1', 'cpu', 'gpu0', 'gpu', $2, 1, $3, $4, $5, $6, 'us-east-1', $7)",
            &[&batch, &CIRCUIT, &started, &done, &seconds, &price_id, &hit],
        )
        .expect("batch");
        c.execute(
            "insert into job_results (job_id, status, batch_id, batch_size, device, received_at, completed_at, queue_wait_ms, witness_load_ms,
                                      compute_h_ms, compute_a_ms, compute_b_g1_ms, compute_b_g2_ms, compute_c_ms, verify_ms, result)
             values ($1, 'proved', $2::text::uuid, 1, 'gpu0', $3, $4, 0, 0, $5, 0, 0, 0, 0, 1, '{}'::jsonb)",
            &[&id, &batch, &started, &done, &prove_ms],
        )
        .expect("result");
        // The stored usd is deliberately wrong: the report re-prices from the price table.
        c.execute(
            "insert into job_costs (job_id, batch_id, device_type, price_id, device_seconds, usd) values ($1, $2::text::uuid, 'gpu', $3, $4, 0)",
            &[&id, &batch, &price_id, &seconds],
        )
        .expect("cost");
    }
}

fn uuid_for(id: &str) -> String {
    let n: u32 = id.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn finops(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkq-finops")).args(args).env("ZKQ_PG_URL", url).output().expect("run zkq-finops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn close(v: &serde_json::Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

const HOUR: [&str; 4] = ["--from", "2026-11-16T10:00:00Z", "--to", "2026-11-16T11:00:00Z"];

#[test]
fn report_allocates_idle_and_shared_and_attributes_the_change() {
    let s = Schema::new("report");
    seed(&mut s.client());
    let o = finops(&s.url, &[&["report"], &HOUR[..], &["--by", "tenant", "--format", "json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let row = |g: &str| v["rows"].as_array().expect("rows").iter().find(|r| r["group"] == g).cloned().expect(g);
    // a: $3 workload + 3/4 × $32 idle + 3/4 × $8 shared = $33 for 3 proofs.
    let a = row("a");
    assert!(close(&a["current"]["total_usd"], 33.0) && close(&a["current"]["idle_usd"], 24.0) && close(&a["current"]["shared_usd"], 6.0), "{a}");
    assert!(close(&a["figures"]["usd_per_1k_proofs"]["current"], 11_000.0));
    assert!(close(&a["current"]["p95_prove_ms"], 290.0), "p95 of 100, 200, 300");
    assert!(close(&a["current"]["cache_hit_rate"], 2.0 / 3.0));
    assert!(close(&row("__idle__")["current"]["idle_seconds"], 3200.0));
    // Total: $44 for 4 proofs now, $44 for 2 proofs the hour before: −50 % per 1k proofs.
    let t = &v["total"];
    assert!(close(&t["figures"]["usd_per_1k_proofs"]["current"], 11_000.0) && close(&t["figures"]["usd_per_1k_proofs"]["previous"], 22_000.0));
    assert!(close(&t["figures"]["usd_per_1k_proofs"]["pct"], -50.0));
    assert!(close(&t["drivers"]["price_mix"], 0.0));
    assert!((t["drivers"]["device_seconds_per_proof"].as_f64().expect("d") + 6434.5875).abs() < 1e-3);
    assert!((t["drivers"]["utilisation"].as_f64().expect("d") + 4565.4125).abs() < 1e-3);

    // --share even: a gets half of idle and shared: 3 + 16 + 4.
    let o = finops(&s.url, &[&["report"], &HOUR[..], &["--share", "even", "--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let a = v["rows"].as_array().expect("rows").iter().find(|r| r["group"] == "a").cloned().expect("a");
    assert!(close(&a["current"]["total_usd"], 23.0), "{a}");

    // The table, by day, and the files under --out.
    let o = finops(&s.url, &[&["report"], &HOUR[..]].concat());
    assert!(o.status.success());
    assert!(stdout(&o).contains("cost per 1k proofs $22000 → $11000 (-50.0%)"), "{}", stdout(&o));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = finops(&s.url, &["report", "--from", "2026-11-16", "--to", "2026-11-16", "--by", "day", "--format", "parquet", "--out", out.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["report.parquet", "cost_per_1k_proofs.svg", "cost_per_1k_proofs.png", "cost_by_tenant.svg", "cost_by_tenant.png", "report.html"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    assert_eq!(&std::fs::read(out.join("report.parquet")).expect("read")[..4], b"PAR1");
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("2026-11-16"));
}

#[test]
fn a_backdated_price_reprices_the_jobs_it_covers() {
    let s = Schema::new("reprice");
    let mut c = s.client();
    seed(&mut c);
    // From 10:00 the same instance costs $72/h: only the 10:xx jobs double (batches started
    // at 10:08:20 and later): workload $3 + $1 → $6 + $2; the idle hour also doubles.
    let o = finops(&s.url, &["prices", "add", "--provider", "aws", "--region", "us-east-1", "--instance-type", "g1", "--device-type", "gpu", "--usd-per-hour", "72", "--valid-from", "2026-11-16T10:00:00Z"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = finops(&s.url, &[&["report"], &HOUR[..], &["--format", "json", "--share", "none"]].concat());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let row = |g: &str| v["rows"].as_array().expect("rows").iter().find(|r| r["group"] == g).cloned().expect(g);
    assert!(close(&row("a")["current"]["workload_usd"], 6.0), "{}", row("a"));
    assert!(close(&row("a")["previous"]["workload_usd"], 3.0), "the 09:xx jobs keep the old price");
    assert!(close(&row("__idle__")["current"]["idle_usd"], 64.0));
    // The price mix driver now carries the change in price.
    assert!(v["total"]["drivers"]["price_mix"].as_f64().expect("driver") > 0.0);
}

#[test]
fn focus_export_writes_csv_and_parquet() {
    let s = Schema::new("focus");
    seed(&mut s.client());
    let dir = tempfile::tempdir().expect("tempdir");
    let o = finops(&s.url, &["export", "focus", "--from", "2026-11-16", "--to", "2026-11-16", "--out", dir.path().to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote 5 FOCUS rows"), "{}", stdout(&o));
    let csv = std::fs::read_to_string(dir.path().join("focus.csv")).expect("csv");
    assert!(csv.lines().next().expect("header").contains("x_TenantId") && csv.contains(",Standard,"));
    assert_eq!(&std::fs::read(dir.path().join("focus.parquet")).expect("parquet")[..4], b"PAR1");
}

#[test]
fn prices_import_is_all_or_nothing_and_lists() {
    let s = Schema::new("prices");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "provider,region,instance_type,device_type,devices_per_instance,pricing_category,usd_per_hour,valid_from,source\naws,us-east-1,p5.48xlarge,nvidia-h100,8,spot,26.57,2026-08-01,dstack offer\naws,us-east-1,p4d.24xlarge,nvidia-a100,8,reserved,13.92,2026-08-01,\n").expect("write");
    let o = finops(&s.url, &["prices", "import", good.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("imported 2 prices"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "provider,region,instance_type,device_type,devices_per_instance,pricing_category,usd_per_hour,valid_from\naws,eu,x,gpu,1,spot,1,2026-09-01\naws,eu,x,gpu,1,spot,lots,2026-09-01\n").expect("write");
    let o = finops(&s.url, &["prices", "import", bad.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.csv:3: usd_per_hour:") && stderr(&o).lines().count() == 1, "{}", stderr(&o));
    // Importing the good file again: duplicates are refused, and nothing is written.
    let o = finops(&s.url, &["prices", "import", good.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let count: i64 = s.client().query_one("select count(*) from prices", &[]).expect("count").get(0);
    assert_eq!(count, 3 + 2, "the seed rows and the two imported");
    let o = finops(&s.url, &["prices", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert!(v.as_array().expect("list").iter().any(|p| p["pricing_category"] == "spot" && close(&p["usd_per_hour"], 26.57)));
}

#[test]
fn errors_are_one_line_with_distinct_exit_codes_and_empty_periods_say_so() {
    let s = Schema::new("errors");
    let one_line = |o: &Output| stderr(o).trim_end().lines().count() == 1;
    let o = finops(&s.url, &["report", "--from", "2026-02-30", "--to", "2026-03-01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o) && stderr(&o).contains("--from \"2026-02-30\""), "{}", stderr(&o));
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-02", "--by", "planet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o) && stderr(&o).contains("--by \"planet\""), "{}", stderr(&o));
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-02", "--share", "fair"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o) && stderr(&o).contains("--share \"fair\""), "{}", stderr(&o));
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "parquet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o) && stderr(&o).contains("--out"), "{}", stderr(&o));
    let o = finops(&s.url, &["report", "--frm", "2026-03-01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o), "{}", stderr(&o));
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-02", "--out", file.join("sub").to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(3));
    assert!(one_line(&o) && stderr(&o).contains("output directory"), "{}", stderr(&o));
    let o = finops("host=127.0.0.1 port=1 user=zkq password=zkq dbname=zkq connect_timeout=2", &["report", "--from", "2026-03-01", "--to", "2026-03-02"]);
    assert_eq!(o.status.code(), Some(8));
    assert!(one_line(&o) && stderr(&o).contains("cannot connect to PostgreSQL"), "{}", stderr(&o));
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-07"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no proofs in 2026-03-01 – 2026-03-07") && !stdout(&o).contains("NaN"), "{}", stdout(&o));
    let o = finops(&s.url, &["report", "--from", "2026-03-01", "--to", "2026-03-07", "--format", "csv"]);
    assert!(o.status.success() && !stdout(&o).contains("NaN"));
    assert!(stderr(&o).contains("no proofs in 2026-03-01 – 2026-03-07"));
}
