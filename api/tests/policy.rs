//! Admission policies end to end (issue 19), against the REAL broker and database with the real
//! `zkq worker` and CLI: allow and deny paths through the worker (default allow, a tenant's
//! permit with caps, no permit, a shared emergency forbid, a forbid that errors and so denies),
//! a changed policy taking effect without a restart within the stated time, explanations in
//! English and Spanish in the result, the attestation and `zkq policy explain`, decision
//! telemetry; the marketplace's review gate from the CLI; lint, suggest and the broadening check.

#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use zkq_engine::fixtures::MULTI_PUBLIC;
use zkq_scheduler::client::OutgoingJob;
use zkq_scheduler::model::Outcome;
use zkq_scheduler::protocol::JobResult;

use common::{run_pipeline_test, witness_bytes, Worker, TENANT};

/// How often the test's worker checks for policy changes.
const RELOAD_MS: u64 = 500;
/// The most a change may take to apply in this test: the reload interval plus a job's trip.
const APPLY_WITHIN: Duration = Duration::from_secs(5);
/// acme may prove for `kyc`, with its priority capped at 2 and weight 3.
const PERMIT_KYC: &str = r#"@priority_cap("2") @weight("3")
@reason_en("acme proves for know-your-customer checks.")
@reason_es("acme prueba para verificaciones de cliente.")
permit(principal == Tenant::"acme", action == Action::"Prove", resource) when { context.purpose == "kyc" };
"#;
/// The emergency switch for everyone.
const FORBID_ALL: &str = "forbid(principal, action, resource);\n";
/// A forbid that overflows for priority ≥ 2: Cedar would skip it and allow; zkq denies.
const FORBID_OVERFLOWING: &str =
    "forbid(principal, action == Action::\"Prove\", resource) when { context.priority * 9223372036854775807 > 100 };\n";
/// An operator password (≥ 12 characters).
const PASSWORD: &str = "correct horse battery";

fn zkq_ok(env: &common::Env, args: &[&str]) -> String {
    let o = env.zkq().args(args).output().expect("run zkq");
    assert!(o.status.success(), "zkq {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `zkq args` with `stdin` written to its standard input.
fn zkq_in(env: &common::Env, args: &[&str], stdin: &str) -> Output {
    let mut child = env.zkq().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn zkq");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("zkq output")
}

/// Asserts the exit code and that stderr says `says` on one line.
fn refused(o: &Output, code: i32, says: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "expected exit {code} ({says}): {err}");
    assert!(err.contains(says), "stderr lacks {says:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

fn code(r: &JobResult) -> Option<&'static str> {
    match &r.outcome {
        Outcome::Failed { code, .. } => Some(code.as_str()),
        Outcome::Proved { .. } => None,
    }
}

fn job(env: &common::Env, id: &str, tenant: &str, purpose: &str, priority: u8, witness: &[u8]) -> OutgoingJob {
    OutgoingJob { tenant: tenant.into(), purpose: purpose.into(), priority, ..env.good_job(id, witness) }
}

fn write(env: &common::Env, name: &str, text: &str) -> String {
    let path = env.dir.join(name);
    std::fs::write(&path, text).expect("write policy file");
    path.display().to_string()
}

/// Submits probe jobs until one gets `want` (Some(code) or None for proved); returns how long
/// the change took to apply, from `since`.
async fn until(env: &common::Env, since: Instant, probe: impl Fn(usize) -> OutgoingJob, want: Option<&str>) -> Duration {
    for i in 0.. {
        let j = probe(i);
        let r = common::submit_and_collect(env, std::slice::from_ref(&j)).await;
        if code(&r[&j.job_id]) == want {
            return since.elapsed();
        }
        assert!(since.elapsed() < APPLY_WITHIN * 3, "the change did not apply within {:?}: {:?}", APPLY_WITHIN * 3, r[&j.job_id]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!()
}

#[test]
fn the_worker_admits_denies_caps_explains_and_reloads_policies() {
    run_pipeline_test("policy_worker", |env| async move {
        zkq_ok(&env, &["tenant", "add", "globex", "--tier", "gold"]);
        // Purpose binding: acme's kyc jobs need a budget for the purpose (the circuit costs no ε).
        zkq_ok(&env, &["budget", "set", "--tenant", TENANT, "--purpose", "kyc", "--cap", "1", "--window", "total", "--reason", "policy test"]);
        let reload = RELOAD_MS.to_string();
        let worker = Worker::start(&env, "policy", &["--max-batch", "4", "--max-wait-ms", "20", "--metrics-addr", "off", "--policy-reload-ms", &reload]);
        common::wait_consuming_tenant(&env, &worker, TENANT).await;
        common::wait_consuming_tenant(&env, &worker, "globex").await;
        let witness = witness_bytes(MULTI_PUBLIC);

        // Out of the box: the shared default-allow admits, and says so in both languages.
        let r = common::submit_and_collect(&env, &[job(&env, "default", TENANT, "", 7, &witness)]).await;
        let d = &r["default"];
        assert_eq!(code(d), None, "{d:?}");
        let p = d.policy.as_ref().expect("the result carries the decision");
        assert_eq!((p.decision.as_str(), p.policies.clone()), ("allow", vec!["shared.default-allow@v1".to_owned()]));
        assert!(p.reason.en.contains("default policy") && p.reason.es.contains("política por defecto"), "{p:?}");

        // acme's permit with caps; the default revoked (deny by default). Measured: how long
        // until the worker, never restarted, decides with the new set.
        let kyc = write(&env, "kyc.cedar", PERMIT_KYC);
        zkq_ok(&env, &["policy", "set", "kyc", &kyc, "--tenant", TENANT]);
        zkq_ok(&env, &["policy", "revoke", "default-allow", "--shared"]);
        let changed = Instant::now();
        let took = until(&env, changed, |i| job(&env, &format!("probe-globex-{i}"), "globex", "kyc", 0, &witness), Some("policy_denied")).await;
        assert!(took < APPLY_WITHIN, "the revocation applied after {took:?} (reload every {RELOAD_MS} ms)");
        eprintln!("policy change applied after {took:?} (reload interval {RELOAD_MS} ms)");

        let jobs = [
            job(&env, "kyc-high", TENANT, "kyc", 7, &witness),
            job(&env, "ads", TENANT, "ads", 1, &witness),
            job(&env, "globex-kyc", "globex", "kyc", 1, &witness),
        ];
        let r = common::submit_and_collect(&env, &jobs).await;
        let allowed = &r["kyc-high"];
        assert_eq!(code(allowed), None, "{allowed:?}");
        let p = allowed.policy.as_ref().expect("decision");
        assert_eq!(p.policies, vec!["acme.kyc@v1".to_owned()]);
        assert_eq!((p.caps.priority, p.caps.weight), (Some(2), Some(3)), "{p:?}");
        assert!(p.reason.en.contains("know-your-customer") && p.reason.es.contains("verificaciones"), "{p:?}");
        for id in ["ads", "globex-kyc"] {
            let denied = &r[id];
            assert_eq!(code(denied), Some("policy_denied"), "{denied:?}");
            let p = denied.policy.as_ref().expect("a deny carries its decision");
            assert!(p.policies.is_empty() && p.decision == "deny", "no permit matched: {p:?}");
            let Outcome::Failed { reason, .. } = &denied.outcome else { unreachable!() };
            assert_eq!(reason, &p.reason.en, "the failure reason is the English explanation");
            assert!(!p.reason.es.is_empty() && p.reason.es != p.reason.en);
        }
        // The stored priority is the capped one.
        let pg = env.pg().await;
        let prio: i16 = pg.query_one("select priority from jobs where job_id = 'kyc-high'", &[]).await.expect("job").get(0);
        assert_eq!(prio, 2, "the permit's cap lowered the job's priority");

        // The attestation records the deciding policy version and its English reason.
        let entry: Vec<u8> = pg.query_one("select entry from log_entries where job_id = 'kyc-high'", &[]).await.expect("log entry").get(0);
        let envelope: zkq_audit::dsse::Envelope = serde_json::from_slice(&entry).expect("a DSSE envelope");
        let mut ring = zkq_audit::KeyRing::default();
        for k in pg.query("select public_key_hex from signing_keys", &[]).await.expect("keys") {
            ring.insert(zkq_audit::PublicKey::from_hex(k.get(0)).expect("key"), None, None);
        }
        let statement: serde_json::Value = serde_json::from_slice(&envelope.verify(&ring).expect("it verifies").payload).expect("statement");
        let decided = &statement["predicate"]["policy"];
        assert_eq!((decided["decision"].as_str(), decided["policy"].as_str()), (Some("allow"), Some("acme.kyc@v1")), "{statement}");

        // zkq policy explain, both languages, and JSON.
        let en = zkq_ok(&env, &["policy", "explain", "--job", "ads"]);
        let es = zkq_ok(&env, &["policy", "explain", "--job", "ads", "--lang", "es"]);
        assert!(en.starts_with("ads (acme): deny") && es.starts_with("ads (acme): deny") && en != es, "{en}\n{es}");
        let j: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "explain", "--job", "kyc-high", "--format", "json"])).expect("JSON");
        assert_eq!((j["decision"].as_str(), j["lang"].as_str()), (Some("allow"), Some("en")), "{j}");
        refused(&env.zkq().args(["policy", "explain", "--job", "no-such-job"]).output().expect("run"), 11, "no job");
        refused(&env.zkq().args(["policy", "explain", "--job", "ads", "--lang", "fr"]).output().expect("run"), 2, "--lang");

        // A shared emergency forbid, then a forbid that errors: both deny (fail closed).
        let stop = write(&env, "stop.cedar", FORBID_ALL);
        zkq_ok(&env, &["policy", "set", "stop", &stop, "--shared"]);
        let since = Instant::now();
        until(&env, since, |i| job(&env, &format!("probe-stop-{i}"), TENANT, "kyc", 0, &witness), Some("policy_denied")).await;
        let r = common::submit_and_collect(&env, &[job(&env, "stopped", TENANT, "kyc", 0, &witness)]).await;
        assert_eq!(r["stopped"].policy.as_ref().map(|p| p.policies.clone()), Some(vec!["shared.stop@v1".to_owned()]));
        zkq_ok(&env, &["policy", "revoke", "stop", "--shared"]);
        let overflow = write(&env, "overflow.cedar", FORBID_OVERFLOWING);
        zkq_ok(&env, &["policy", "set", "overflow", &overflow, "--tenant", TENANT]);
        let since = Instant::now();
        // priority 0: the forbid evaluates (0 > 100 is false) and the permit allows.
        until(&env, since, |i| job(&env, &format!("probe-low-{i}"), TENANT, "kyc", 0, &witness), None).await;
        let r = common::submit_and_collect(&env, &[job(&env, "erroring", TENANT, "kyc", 5, &witness)]).await;
        let e = &r["erroring"];
        assert_eq!(code(e), Some("policy_denied"), "Cedar skips the erroring forbid and would allow: {e:?}");
        let p = e.policy.as_ref().expect("decision");
        assert!(p.reason.en.contains("overflow") || p.reason.en.to_lowercase().contains("could not"), "{p:?}");

        // Telemetry: decisions counted per policy version (flushed at the next check).
        tokio::time::sleep(Duration::from_millis(RELOAD_MS * 3)).await;
        let _ = common::submit_and_collect(&env, &[job(&env, "flush", TENANT, "kyc", 0, &witness)]).await;
        tokio::time::sleep(Duration::from_millis(RELOAD_MS * 3)).await;
        let _ = common::submit_and_collect(&env, &[job(&env, "flush-2", TENANT, "kyc", 0, &witness)]).await;
        let counts: HashMap<String, (i64, i64)> = pg
            .query("select tenant || '.' || policy_id, sum(allows)::bigint, sum(denies)::bigint from policy_decision_counts group by 1", &[])
            .await
            .expect("counts")
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
        assert!(counts.get(".default-allow").is_some_and(|c| c.0 >= 1), "{counts:?}");
        assert!(counts.get("acme.kyc").is_some_and(|c| c.0 >= 2), "{counts:?}");
        assert!(counts.get(".stop").is_some_and(|c| c.1 >= 2), "{counts:?}");
        drop(worker);
    });
}

#[test]
fn the_review_gate_cannot_be_bypassed_from_the_cli() {
    run_pipeline_test("policy_gate", |env| async move {
        let catalog = zkq_policy::catalog::Catalog::builtin().expect("catalog");
        let t = catalog.get("circuit-allow-list", None).expect("a curated template");
        let (id, author) = (format!("{}@{}", t.id, t.version), t.author.clone());
        for op in [author.as_str(), "bob"] {
            let o = zkq_in(&env, &["operator", "add", op, "--password-stdin"], &format!("{PASSWORD}\n"));
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let pw = format!("{PASSWORD}\n");
        let as_op = |op: &str, args: &[&str]| {
            let mut full: Vec<&str> = args.to_vec();
            full.extend(["--operator", op, "--password-stdin"]);
            zkq_in(&env, &full, &pw)
        };
        // Linking and publishing a draft are refused; a wrong password is refused.
        refused(&env.zkq().args(["policy", "new", "--tenant", TENANT, "--template", &id]).output().expect("run"), 11, "in the marketplace (submit it first");
        refused(&zkq_in(&env, &["policy", "catalog", "submit", &id, "--operator", "bob", "--password-stdin"], "wrong password\n"), 12, "wrong name or password");
        assert!(as_op("bob", &["policy", "catalog", "submit", &id]).status.success());
        refused(&as_op("bob", &["policy", "catalog", "publish", &id]), 12, "no approving review");
        // The author cannot approve their own template — whatever USER says.
        let mut c = env.zkq();
        c.env("USER", "bob").args(["policy", "catalog", "review", &id, "--approve", "--operator", &author, "--password-stdin"]);
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        child.stdin.take().expect("stdin").write_all(pw.as_bytes()).expect("stdin");
        refused(&child.wait_with_output().expect("run"), 12, "its author cannot review it");
        refused(&env.zkq().args(["policy", "new", "--tenant", TENANT, "--template", &id]).output().expect("run"), 12, "only a published template can be linked");
        // bob rejects (back to draft: publishing still refused), then approves a resubmission.
        assert!(as_op("bob", &["policy", "catalog", "review", &id, "--reject", "--notes", "add an example"]).status.success());
        refused(&as_op("bob", &["policy", "catalog", "publish", &id]), 12, "cannot go from draft to published");
        assert!(as_op(&author, &["policy", "catalog", "submit", &id]).status.success());
        assert!(as_op("bob", &["policy", "catalog", "review", &id, "--approve", "--notes", "ok"]).status.success());
        assert!(as_op(&author, &["policy", "catalog", "publish", &id]).status.success());

        // Linking: bad parameters are one-line errors and store nothing; a hostile value stays data.
        refused(&env.zkq().args(["policy", "new", "--tenant", TENANT, "--template", &id, "--param", "nope=1"]).output().expect("run"), 2, "nope");
        refused(&env.zkq().args(["policy", "new", "--tenant", "nobody", "--template", &id]).output().expect("run"), 11, "nobody");
        let hostile = "circuits=multi_public,x\" || true || \"";
        let linked: serde_json::Value =
            serde_json::from_str(&zkq_ok(&env, &["policy", "new", "--tenant", TENANT, "--template", &id, "--param", hostile, "--format", "json"])).expect("JSON");
        assert_eq!(linked["version"], 1, "{linked}");
        let stored: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "list", "--tenant", TENANT, "--format", "json"])).expect("JSON");
        assert_eq!(stored.as_array().map(Vec::len), Some(1), "{stored}");
        let source = stored[0]["source"].as_str().expect("source");
        assert_eq!(zkq_policy::lint::lint(source), vec![], "the linked policy validates: {source}");
        assert_eq!(source.matches("permit(").count(), 1, "one policy, the quote escaped: {source}");

        // The marketplace shows the review and the usage; deprecation stops new links.
        let show: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "catalog", "show", &id, "--format", "json"])).expect("JSON");
        assert_eq!((show["state"].as_str(), show["tenants_linking"].as_i64()), (Some("published"), Some(1)), "{show}");
        let verdicts: Vec<&str> = show["reviews"].as_array().expect("reviews").iter().filter_map(|r| r["verdict"].as_str()).collect();
        assert_eq!(verdicts, vec!["reject", "approve"]);
        let es: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "catalog", "show", &id, "--lang", "es", "--format", "json"])).expect("JSON");
        assert_ne!(es["title"], show["title"], "titles exist in both languages");
        assert!(as_op(&author, &["policy", "catalog", "deprecate", &id]).status.success());
        refused(&env.zkq().args(["policy", "new", "--tenant", TENANT, "--template", &id, "--id", "second"]).output().expect("run"), 12, "only a published template");
        let list: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "catalog", "list", "--format", "json"])).expect("JSON");
        assert!(list.as_array().expect("rows").len() >= 30, "at least 30 curated templates");
    });
}

#[test]
fn lint_suggest_and_the_broadening_check_from_the_cli() {
    run_pipeline_test("policy_lint", |env| async move {
        let broken = write(
            &env,
            "broken.cedar",
            "permit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource)\nwhen { resource.constraint < 1000 && context.priority > \"5\" };\n",
        );
        let o = env.zkq().args(["policy", "lint", &broken, "--format", "json"]).output().expect("run");
        assert_eq!(o.status.code(), Some(1), "findings exit 1");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let located: Vec<(u64, u64, &str)> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| (f["line"].as_u64().unwrap_or(0), f["column"].as_u64().unwrap_or(0), f["code"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(located, vec![(2, 8, "unknown-attribute"), (2, 57, "type-mismatch")], "every error, located: {v}");
        // suggest prints a diff; --write applies it; the file then lints clean and can be stored.
        let diff = zkq_ok(&env, &["policy", "suggest", &broken]);
        assert!(diff.contains("+when { resource.constraints < 1000 && context.priority > 5 };"), "{diff}");
        zkq_ok(&env, &["policy", "suggest", &broken, "--write"]);
        assert!(env.zkq().args(["policy", "lint", &broken]).status().expect("run").success());
        zkq_ok(&env, &["policy", "set", "small", &broken, "--tenant", TENANT]);
        // A version that drops the condition broadens what is permitted: flagged, refused
        // without --allow-broadening, stored with it.
        let wide = write(&env, "wide.cedar", "permit(principal == Tenant::\"acme\", action == Action::\"Prove\", resource);\n");
        let o = env.zkq().args(["policy", "suggest", &wide, "--previous", &broken]).output().expect("run");
        assert!(String::from_utf8_lossy(&o.stderr).contains("broadens"), "{}", String::from_utf8_lossy(&o.stderr));
        let o = env.zkq().args(["policy", "set", "small", &wide, "--tenant", TENANT]).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--allow-broadening"));
        zkq_ok(&env, &["policy", "set", "small", &wide, "--tenant", TENANT, "--allow-broadening"]);
        let show: serde_json::Value = serde_json::from_str(&zkq_ok(&env, &["policy", "show", "small", "--tenant", TENANT, "--format", "json"])).expect("JSON");
        assert_eq!(show.as_array().map(Vec::len), Some(2), "two versions: {show}");
        // A broken file is never stored; lint --tenant checks what is stored.
        std::fs::write(env.dir.join("bad.cedar"), "permit(principal, action, resource) when { context.nope };").expect("write");
        let o = env.zkq().args(["policy", "set", "bad", &env.dir.join("bad.cedar").display().to_string(), "--tenant", TENANT]).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(env.zkq().args(["policy", "lint", "--tenant", TENANT]).status().expect("run").success());
    });
}
