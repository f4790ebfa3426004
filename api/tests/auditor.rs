//! The auditor API end to end (issue 20), against the REAL broker and database with the real
//! `zkq worker` and `zkq serve`: proved jobs are attested and logged; the sample auditor client
//! (examples/auditor, Python, no zkq code) verifies an attestation, its inclusion and the log's
//! consistency between two checkpoints offline and refuses every tampered copy; tenant-bound
//! clients see only their tenant; scopes are enforced on the real routes; schemathesis checks
//! the running server against docs/auditor-api.yaml and fuzzes its inputs (no 500, every
//! answer as documented); every request lands in the access log.

#[allow(dead_code)]
mod common;
mod served;

use std::collections::HashMap;
use std::process::Command;


use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::OutgoingJob;
use zkq_scheduler::model::Outcome;
use zkq_scheduler::protocol::JobResult;

use common::{run_pipeline_test, witness_bytes, Env, Worker, TENANT};
use served::{exchange, Serve};

/// The second tenant, whose client is tenant-bound.
const OTHER: &str = "globex";
/// The OpenAPI document the server is checked against.
const OPENAPI: &str = "docs/auditor-api.yaml";
/// The sample auditor client.
const AUDITOR: &str = "examples/auditor/zkq_auditor.py";

fn repo() -> std::path::PathBuf {
    zkq_engine::fixtures::repo_root()
}

fn zkq_ok(env: &Env, args: &[&str]) -> String {
    let o = env.zkq().args(args).output().expect("run zkq");
    assert!(o.status.success(), "zkq {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `zkq auth client add … --format json`: the secret.
fn add_client(env: &Env, id: &str, extra: &[&str]) -> String {
    let mut args = vec!["auth", "client", "add", id, "--format", "json"];
    args.extend_from_slice(extra);
    let v: serde_json::Value = serde_json::from_str(&zkq_ok(env, &args)).expect("JSON");
    v["client_secret"].as_str().expect("client_secret").to_owned()
}

/// Runs the jobs; every one must be proved.
async fn run(env: &Env, jobs: &[OutgoingJob]) -> HashMap<String, JobResult> {
    let out = common::submit_and_collect(env, jobs).await;
    for (id, r) in &out {
        assert!(matches!(r.outcome, Outcome::Proved { .. }), "{id}: {:?}", r.outcome);
    }
    out
}

/// `zkq serve` on the test's database, its log drained.
fn serve(env: &Env) -> Serve {
    let mut command = env.zkq();
    command.args(["serve", "--listen", "127.0.0.1:0"]).env("ZKQ_LOG", "info");
    let mut serve = Serve::start(command);
    serve.drain_stderr();
    serve
}

/// One HTTP/1.1 request; (status, body).
fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let answer = exchange(addr, method, path, headers, body);
    (served::status(&answer), served::body(&answer))
}

fn token(addr: &str, id: &str, secret: &str, scope: &str) -> String {
    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope={}", scope.replace(' ', "+").replace(':', "%3A"));
    let (status, answer) = http(addr, "POST", "/oauth/token", &[("Content-Type", "application/x-www-form-urlencoded")], &body);
    assert_eq!(status, 200, "token for {id}: {answer}");
    let v: serde_json::Value = serde_json::from_str(&answer).expect("token JSON");
    v["access_token"].as_str().expect("access_token").to_owned()
}

fn get(addr: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let (status, body) = http(addr, "GET", path, &[("Authorization", &auth)], "");
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

fn python() -> String {
    std::env::var("ZKQ_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs the sample auditor; its output.
fn audit(addr: &str, id: &str, secret_file: &std::path::Path, job: &str, extra: &[&str]) -> String {
    let o = Command::new(python())
        .arg(repo().join(AUDITOR))
        .args(["--url", &format!("http://{addr}"), "--client-id", id, "--job", job, "--tamper-check"])
        .arg("--client-secret-file")
        .arg(secret_file)
        .args(extra)
        .output()
        .expect("run the sample auditor (python with cryptography: scripts/test.sh installs it)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "the auditor failed: {out}{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn jobs(env: &Env, prefix: &str, tenant: &str, n: usize) -> Vec<OutgoingJob> {
    let witness = witness_bytes(MULTI_PUBLIC);
    (0..n).map(|i| OutgoingJob { tenant: tenant.into(), ..env.good_job(&format!("{prefix}-{i}"), &witness) }).collect()
}

#[test]
fn auditors_verify_attested_proofs_offline_and_see_only_what_they_may() {
    run_pipeline_test("auditor", |env| async move {
        zkq_ok(&env, &["tenant", "add", OTHER]);
        zkq_ok(&env, &["budget", "set", "--tenant", TENANT, "--purpose", "kyc", "--cap", "1", "--window", "total", "--reason", "audit test"]);
        let _worker = Worker::start(&env, "auditor", &["--max-batch", "4", "--max-wait-ms", "30", "--metrics-addr", "off"]);
        let first: Vec<OutgoingJob> = jobs(&env, "acme-a", TENANT, 5).into_iter().chain(jobs(&env, "globex-a", OTHER, 3)).collect();
        run(&env, &first).await;

        let pg = env.pg().await;
        let logged: i64 = pg.query_one("select count(*) from log_entries", &[]).await.expect("count").get(0);
        assert_eq!(logged, 8, "every proved job is logged once");

        let auditor = add_client(&env, "auditor", &["--scope", "audit:read", "--scope", "budget:read", "--scope", "costs:read"]);
        let globex = add_client(&env, "globex-app", &["--scope", "audit:read", "--scope", "budget:read", "--scope", "costs:read", "--tenant", OTHER]);
        let narrow = add_client(&env, "narrow", &["--scope", "audit:read"]);
        let serve = serve(&env);
        let addr = serve.addr.clone();
        let secret_file = env.dir.join("auditor.secret");
        std::fs::write(&secret_file, &auditor).expect("secret file");

        // 1. The sample auditor, offline: signature, subjects, checkpoint, inclusion, tampering.
        let checkpoint_file = env.dir.join("checkpoint-1.txt");
        let out = audit(&addr, "auditor", &secret_file, "acme-a-2", &["--save-checkpoint", &checkpoint_file.display().to_string()]);
        assert!(out.contains("is included in the tree of size 8") && out.contains("alterations were refused") && out.ends_with("PASS\n"), "{out}");

        // 2. More jobs; the log grows, and the old checkpoint is a prefix of the new tree.
        run(&env, &jobs(&env, "acme-b", TENANT, 4)).await;
        let out = audit(&addr, "auditor", &secret_file, "acme-b-3", &["--previous-checkpoint", &checkpoint_file.display().to_string()]);
        assert!(out.contains("the tree of size 8 (previous checkpoint) is a prefix of the tree of size 12"), "{out}");

        // 3. Tenant isolation: globex's client sees its own records only, and another
        // tenant's answer exactly like a missing one.
        let g = token(&addr, "globex-app", &globex, "audit:read budget:read costs:read");
        let (status, own) = get(&addr, "/v1/attestations/globex-a-0", &g);
        assert_eq!(status, 200, "{own}");
        let (status, theirs) = get(&addr, "/v1/attestations/acme-a-0", &g);
        let (status_missing, missing) = get(&addr, "/v1/attestations/no-such-job", &g);
        assert_eq!((status, status_missing), (404, 404), "{theirs} {missing}");
        // The admission decision of a job proved by the real worker, explained in the language
        // Accept-Language asks for; another tenant's is a 404 like a missing one.
        let auth = format!("Bearer {g}");
        let (status, body) = http(&addr, "GET", "/v1/decisions/globex-a-0", &[("Authorization", &auth), ("Accept-Language", "es-ES,es;q=0.9")], "");
        let decision: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!((status, decision["decision"].as_str(), decision["lang"].as_str()), (200, Some("allow"), Some("es")), "{body}");
        assert_eq!(decision["policies"][0], "shared.default-allow@v1", "{body}");
        assert!(decision["reason"]["text"].as_str().is_some_and(|t| t.contains("política por defecto")), "{body}");
        assert_eq!(get(&addr, "/v1/decisions/acme-a-0", &g).0, 404, "another tenant's decision");
        let (_, costs) = get(&addr, "/v1/costs?limit=1000", &g);
        let rows = costs["costs"].as_array().expect("costs");
        assert_eq!(rows.len(), 3, "{costs}");
        assert!(rows.iter().all(|r| r["tenant"] == OTHER && r["attestation"]["log_index"].is_u64()), "{costs}");
        let (_, asked) = get(&addr, &format!("/v1/costs?tenant={TENANT}"), &g);
        assert_eq!(asked["costs"].as_array().map(Vec::len), Some(0), "{asked}");
        let (_, entries) = get(&addr, "/v1/log/entries?start=0&end=100", &g);
        let entries = entries["entries"].as_array().expect("entries").clone();
        assert_eq!(entries.len(), 3);
        assert!(entries.iter().all(|e| e["tenant"] == OTHER));
        let acme_index = get(&addr, "/v1/attestations/acme-a-0", &token(&addr, "auditor", &auditor, "audit:read")).1["log_index"].as_u64().expect("index");
        let (status, _) = get(&addr, &format!("/v1/log/proof/inclusion?index={acme_index}&tree_size=12"), &g);
        assert_eq!(status, 404, "another tenant's inclusion proof");
        let receipt: String = pg.query_one("select receipt_id from budget_receipts where tenant = $1 limit 1", &[&TENANT]).await.expect("receipt").get(0);
        let (status, _) = get(&addr, &format!("/v1/receipts/{receipt}"), &g);
        assert_eq!(status, 404, "another tenant's receipt");
        let (status, _) = get(&addr, &format!("/v1/budgets/{TENANT}"), &g);
        assert_eq!(status, 404, "another tenant's budgets");
        let a = token(&addr, "auditor", &auditor, "budget:read");
        let (status, r) = get(&addr, &format!("/v1/receipts/{receipt}"), &a);
        assert_eq!((status, r["tenant"].as_str()), (200, Some(TENANT)), "{r}");
        let (status, b) = get(&addr, &format!("/v1/budgets/{TENANT}"), &a);
        assert_eq!((status, b["ledgers"][0]["purpose"].as_str()), (200, Some("kyc")), "{b}");

        // 4. Scopes on the real routes: none → 401, the wrong one → 403.
        let n = token(&addr, "narrow", &narrow, "audit:read");
        for path in ["/v1/costs".to_owned(), format!("/v1/receipts/{receipt}"), format!("/v1/budgets/{TENANT}")] {
            assert_eq!(get(&addr, &path, &n).0, 403, "{path} with audit:read only");
            assert_eq!(http(&addr, "GET", &path, &[], "").0, 401, "{path} without a token");
        }
        assert_eq!(http(&addr, "GET", "/v1/keys", &[], "").0, 401);
        let (status, body) = get(&addr, "/v1/no/such/route", &n);
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");

        // 5. schemathesis: the running server against the OpenAPI document, with fuzzed path
        // and query inputs: no 500, every status, content type and body as documented, and
        // every route refusing requests without the token (ignored_auth).
        let full = token(&addr, "auditor", &auditor, "audit:read budget:read costs:read");
        let ops = add_client(&env, "ops", &["--scope", "audit:read", "--scope", "budget:read", "--scope", "costs:read", "--scope", "admin"]);
        let all_scopes = token(&addr, "ops", &ops, "audit:read budget:read costs:read admin");
        let st = std::path::Path::new(&python()).with_file_name("schemathesis");
        let o = Command::new(&st)
            .current_dir(repo())
            .args(["run", OPENAPI, "--url", &format!("http://{addr}"), "--header", &format!("Authorization: Bearer {all_scopes}")])
            .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth"])
            .args(["--max-examples", "25", "--seed", "20261203", "--phases", "examples,coverage,fuzzing", "--workers", "1"])
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis (scripts/test.sh installs it in the tests' Python venv)");
        let report = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        eprintln!("{report}");
        assert!(o.status.success(), "schemathesis found problems:\n{report}");

        // 6. The access log saw all of it: routes as templates, outcomes, and no secret.
        let log: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["audit", "access-log", "--limit", "1000", "--format", "json"])).expect("access log JSON");
        let events = log.as_array().cloned().unwrap_or_else(|| log["events"].as_array().cloned().unwrap_or_default());
        let seen = |route: &str, status: i64| events.iter().any(|e| e["route"] == route && e["status"] == status);
        assert!(seen("/v1/attestations/{job_id}", 200) && seen("/v1/attestations/{job_id}", 404), "attestation reads are logged");
        assert!(seen("/v1/log/proof/inclusion", 200) && seen("/v1/log/proof/consistency", 200) && seen("/v1/costs", 403), "proof and refused reads are logged");
        let all = serde_json::to_string(&events).expect("json");
        for secret in [&auditor, &globex, &narrow, &ops, &full, &all_scopes] {
            assert!(!all.contains(secret.as_str()), "a secret or token in the access log");
        }
        drop(serve);
    });
}
