//! `GET /v1/decisions/{job_id}` over HTTP (requests through the composed router, no sockets,
//! real PostgreSQL): a job's admission decision explained in English or Spanish (`?lang=`,
//! `Accept-Language`), hostile values escaped, tenant-bound clients confined to their tenant,
//! scopes enforced, and jobs without a decision answered 404.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{form, Resp, TestDb, HOST};
use serde_json::{json, Value};
use tower::ServiceExt;
use zkq_audit::SigningKey;
use zkq_server::auth::clients;
use zkq_server::testing::MemoryBudgets;
use zkq_server::{auditor, ApiConfig, ApiState, AppState, Scope, ServerConfig};

const KEY_SEED: [u8; 32] = [9; 32];
/// An allow with caps and a note (priority lowered), tenant acme.
const JOB_ALLOWED: &str = "job-allow-1";
/// A default deny whose purpose and circuit are hostile, tenant acme.
const JOB_HOSTILE: &str = "job-deny-hostile";
/// An allow of tenant beta.
const JOB_BETA: &str = "job-beta-1";
/// A job whose result has no policy object (the worker ran without policies), tenant acme.
const JOB_NO_POLICY: &str = "job-nopolicy-1";
/// A job without a result yet, tenant acme.
const JOB_QUEUED: &str = "job-queued-1";
/// A deny whose explanation key this build's strings lack, tenant acme.
const JOB_UNKNOWN_KEY: &str = "job-unknown-key";
/// No such job.
const JOB_MISSING: &str = "job-missing";
/// A purpose that would run script if inserted into HTML unescaped.
const HOSTILE_PURPOSE: &str = "<script>alert(1)</script>\n[x](javascript:alert(1))";
/// A circuit name that would be a glossary link and a placeholder if values were parsed.
const HOSTILE_CIRCUIT: &str = "[[epsilon]]{tenant}";
/// What a Mexican Spanish speaker's browser sends.
const SPANISH_FIRST: &str = "es-MX,es;q=0.9,en;q=0.5";
/// The stored text of the unknown-key deny.
const STORED_EN: &str = "Refused by a rule from a newer release <b>.";
const STORED_ES: &str = "Rechazado por una regla de una versión más nueva <b>.";

/// The request arguments every stored explanation carries.
fn request_args(tenant: &str, circuit: &str, purpose: &str) -> Value {
    json!({
        "tenant": tenant, "circuit": circuit, "purpose": purpose, "epsilon": "0.2", "priority": "5",
        "region": "eu", "hour_utc": "10", "weekday": "3", "constraints": "1024", "jobs_last_minute": "0",
    })
}

fn with(mut args: Value, extra: &[(&str, &str)]) -> Value {
    for (k, v) in extra {
        args[*k] = json!(v);
    }
    args
}

/// The policy objects the worker would have stored, per job.
fn verdicts() -> Vec<(&'static str, &'static str, Value)> {
    let acme = request_args("acme", "multiplier", "kyc");
    let allowed = json!({
        "decision": "allow",
        "policies": ["acme.kyc@v2"],
        "caps": {"priority": 3, "epsilon_micro": 200000},
        "explanation": {
            "key": "zkq.allow.permitted",
            "args": with(acme.clone(), &[("policy", "acme.kyc@v2")]),
            "notes": [{"key": "zkq.allow.priority_capped", "args": with(acme.clone(), &[("policy", "acme.kyc@v2"), ("cap", "3")])}],
        },
        "reason": {"en": "stored en", "es": "stored es"},
    });
    let hostile = json!({
        "decision": "deny",
        "policies": [],
        "explanation": {"key": "zkq.deny.no_permit", "args": request_args("acme", HOSTILE_CIRCUIT, HOSTILE_PURPOSE)},
        "reason": {"en": "stored en", "es": "stored es"},
    });
    let beta = json!({
        "decision": "allow",
        "policies": ["beta.open@v1"],
        "explanation": {"key": "zkq.allow.permitted", "args": with(request_args("beta", "multiplier", "ads"), &[("policy", "beta.open@v1")])},
        "reason": {"en": "stored en", "es": "stored es"},
    });
    let unknown = json!({
        "decision": "deny",
        "policies": ["acme.future@v9"],
        "explanation": {"key": "zkq.deny.from_a_newer_release", "args": {}},
        "reason": {"en": STORED_EN, "es": STORED_ES},
    });
    vec![
        (JOB_ALLOWED, "acme", allowed),
        (JOB_HOSTILE, "acme", hostile),
        (JOB_BETA, "beta", beta),
        (JOB_UNKNOWN_KEY, "acme", unknown),
    ]
}

struct Api {
    db: TestDb,
    router: axum::Router,
}

impl Api {
    async fn new(test: &str) -> Api {
        let db = TestDb::new(test).await;
        let pg = db.pg().await;
        pg.batch_execute("insert into tenants (name) values ('acme'), ('beta')")
            .await
            .expect("tenants");
        let mut jobs: Vec<(&str, &str, Option<Value>)> = verdicts()
            .into_iter()
            .map(|(id, tenant, policy)| (id, tenant, Some(json!({ "policy": policy }))))
            .collect();
        jobs.push((JOB_NO_POLICY, "acme", Some(json!({"outcome": "proved"}))));
        jobs.push((JOB_QUEUED, "acme", None));
        for (id, tenant, result) in jobs {
            let state = if result.is_some() { "proved" } else { "queued" };
            pg.execute(
                "insert into jobs (job_id, tenant, circuit_ref, purpose, state) values ($1, $2, 'multiplier', 'kyc', $3)",
                &[&id, &tenant, &state],
            )
            .await
            .expect("job");
            if let Some(result) = result {
                pg.execute(
                    "insert into job_results (job_id, status, batch_size, received_at, queue_wait_ms, witness_load_ms,
                        compute_h_ms, compute_a_ms, compute_b_g1_ms, compute_b_g2_ms, compute_c_ms, verify_ms, result)
                     values ($1, 'proved', 1, now(), 0, 0, 0, 0, 0, 0, 0, 0, $2)",
                    &[&id, &result],
                )
                .await
                .expect("job result");
            }
        }
        let api = Arc::new(
            ApiState::new(db.db.clone(), &SigningKey::from_seed(&KEY_SEED), ApiConfig::default()).expect("api state"),
        );
        let admin = Arc::new(AppState::new(
            db.db.clone(),
            Arc::new(MemoryBudgets::new()),
            ServerConfig::default(),
        ));
        let routes = zkq_server::auth_router(api.clone()).merge(auditor::router(api));
        let router = zkq_server::app(zkq_server::router(admin), routes, db.db.clone());
        Api { db, router }
    }

    async fn request(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20).await.expect("body");
        Resp {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
        }
    }

    /// A client `id` with `scopes` (bound to `tenant` when given), and a token of it.
    async fn client(&self, id: &str, scopes: &[Scope], tenant: Option<&str>) -> String {
        let set: BTreeSet<Scope> = scopes.iter().copied().collect();
        let secret = clients::add_client(&self.db.db, id, &set, tenant, "test")
            .await
            .expect("add client")
            .secret;
        let req = Request::post("/oauth/token")
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", &secret),
            ])))
            .expect("request");
        let res = self.request(req).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        json_of(&res)["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn get(&self, path: &str, token: Option<&str>, accept_language: Option<&str>) -> Resp {
        let mut req = Request::get(path).header("host", HOST);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(l) = accept_language {
            req = req.header("accept-language", l);
        }
        self.request(req.body(Body::empty()).expect("request")).await
    }
}

fn json_of(res: &Resp) -> Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", res.body))
}

fn header<'a>(res: &'a Resp, name: &str) -> &'a str {
    res.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn path(job: &str) -> String {
    format!("/v1/decisions/{job}")
}

/// A 200 in `lang`, with the headers that say so; its body.
fn ok_in(res: &Resp, lang: &str) -> Value {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(header(res, "content-language"), lang);
    assert!(
        header(res, "vary").to_ascii_lowercase().contains("accept-language"),
        "{:?}",
        res.headers
    );
    let v = json_of(res);
    assert_eq!(v["lang"], lang, "{v}");
    v
}

#[tokio::test]
async fn decisions_are_explained_in_english_or_spanish() {
    let api = Api::new("decisions_lang").await;
    let token = api.client("auditor", &[Scope::AuditRead], None).await;
    let t = Some(token.as_str());

    // English by default, re-rendered from the explanation (not the stored text), with links.
    let v = ok_in(&api.get(&path(JOB_ALLOWED), t, None).await, "en");
    assert_eq!(
        (v["job_id"].as_str(), v["tenant"].as_str(), v["decision"].as_str()),
        (Some(JOB_ALLOWED), Some("acme"), Some("allow"))
    );
    assert_eq!(v["policies"], json!(["acme.kyc@v2"]));
    assert_eq!(v["caps"], json!({"priority": 3, "epsilon_micro": 200000}));
    assert_eq!(v["explanation"]["key"], "zkq.allow.permitted");
    let text = v["reason"]["text"].as_str().expect("text");
    assert_eq!(
        text,
        "“acme” may prove “multiplier”: the policy “acme.kyc@v2” allows it. \
         Its priority was lowered from 5 to 3 by the policy “acme.kyc@v2”."
    );
    assert!(
        v["reason"]["html"]
            .as_str()
            .expect("html")
            .contains("<a href=\"docs/glossary.md#policy\">policy</a>"),
        "{v}"
    );
    assert!(
        v["reason"]["markdown"]
            .as_str()
            .expect("md")
            .contains("[policy](docs/glossary.md#policy)"),
        "{v}"
    );
    assert_eq!(
        v["links"],
        json!([{"term": "policy", "href": "docs/glossary.md#policy"}, {"term": "priority", "href": "docs/glossary.md#priority"}])
    );

    // Accept-Language preferring Spanish: Spanish.
    let v = ok_in(&api.get(&path(JOB_ALLOWED), t, Some(SPANISH_FIRST)).await, "es");
    let text = v["reason"]["text"].as_str().expect("text");
    assert!(
        text.starts_with("«acme» puede probar «multiplier»: la política «acme.kyc@v2» lo permite."),
        "{text}"
    );
    assert!(text.contains("bajó su prioridad de 5 a 3"), "{text}");

    // ?lang= overrides Accept-Language, both ways.
    ok_in(
        &api.get(&format!("{}?lang=es", path(JOB_ALLOWED)), t, Some("en")).await,
        "es",
    );
    ok_in(
        &api.get(&format!("{}?lang=en", path(JOB_ALLOWED)), t, Some(SPANISH_FIRST))
            .await,
        "en",
    );

    // An invalid lang: 400 with the API's error shape.
    for bad in ["fr", "", "en-US", "%3Cb%3E"] {
        let res = api.get(&format!("{}?lang={bad}", path(JOB_ALLOWED)), t, None).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "lang={bad}: {}", res.body);
        let v = json_of(&res);
        assert_eq!(v["error"], "bad_request", "{v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains("expected en or es")),
            "{v}"
        );
    }

    // A key this build lacks: the stored text of the language, escaped, no links.
    let v = ok_in(
        &api.get(&format!("{}?lang=es", path(JOB_UNKNOWN_KEY)), t, None).await,
        "es",
    );
    assert_eq!(v["reason"]["text"], STORED_ES);
    assert_eq!(
        v["reason"]["html"],
        "Rechazado por una regla de una versión más nueva &lt;b&gt;."
    );
    assert_eq!(v["links"], json!([]));
    let v = ok_in(&api.get(&path(JOB_UNKNOWN_KEY), t, None).await, "en");
    assert_eq!(
        (v["reason"]["text"].as_str(), v["decision"].as_str()),
        (Some(STORED_EN), Some("deny"))
    );
}

#[tokio::test]
async fn hostile_values_are_escaped_in_html_and_inert_in_text() {
    let api = Api::new("decisions_hostile").await;
    let token = api.client("auditor", &[Scope::AuditRead], None).await;
    for lang in ["en", "es"] {
        let v = ok_in(
            &api.get(&format!("{}?lang={lang}", path(JOB_HOSTILE)), Some(&token), None)
                .await,
            lang,
        );
        assert_eq!(v["decision"], "deny");
        let html = v["reason"]["html"].as_str().expect("html");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(
            !html.contains("<script")
                && !html.contains("javascript:alert(1))\"")
                && !html.contains("href=\"javascript"),
            "{html}"
        );
        // Only the string's own links: the circuit's [[epsilon]] is text, not a link.
        assert_eq!(html.matches("<a href=").count(), 2, "{html}");
        let text = v["reason"]["text"].as_str().expect("text");
        assert!(
            text.contains("<script>alert(1)</script> [x](javascript:alert(1))"),
            "one line, shown as typed: {text}"
        );
        assert!(text.contains("[[epsilon]]{tenant}"), "values are never parsed: {text}");
        assert!(!text.contains('\n'), "{text}");
        let markdown = v["reason"]["markdown"].as_str().expect("markdown");
        assert!(
            !markdown.contains("](javascript") && markdown.contains("\\<script\\>"),
            "{markdown}"
        );
        let terms: Vec<&str> = v["links"]
            .as_array()
            .expect("links")
            .iter()
            .filter_map(|l| l["term"].as_str())
            .collect();
        assert_eq!(terms, ["policy", "purpose"], "{v}");
    }
}

#[tokio::test]
async fn tenants_scopes_and_missing_decisions() {
    let api = Api::new("decisions_access").await;
    let auditor = api.client("auditor", &[Scope::AuditRead], None).await;
    let acme = api.client("acme-bound", &[Scope::AuditRead], Some("acme")).await;
    let narrow = api.client("narrow", &[Scope::BudgetRead], None).await;

    // A tenant-bound client: its own tenant's decisions, and another tenant's answers as missing.
    ok_in(&api.get(&path(JOB_ALLOWED), Some(&acme), None).await, "en");
    let other = api.get(&path(JOB_BETA), Some(&acme), None).await;
    let missing = api.get(&path(JOB_MISSING), Some(&acme), None).await;
    assert_eq!(
        (other.status, missing.status),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
        "{}",
        other.body
    );
    assert_eq!(
        other.body.replace(JOB_BETA, "ID"),
        missing.body.replace(JOB_MISSING, "ID"),
        "existence must not leak"
    );
    assert_eq!(json_of(&other)["error"], "not_found");
    // An unbound client sees beta's.
    ok_in(&api.get(&path(JOB_BETA), Some(&auditor), None).await, "en");

    // Scopes: budget:read only → 403; no token → 401.
    let res = api.get(&path(JOB_ALLOWED), Some(&narrow), None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(json_of(&res)["error"], "insufficient_scope");
    assert_eq!(
        api.get(&path(JOB_ALLOWED), None, None).await.status,
        StatusCode::UNAUTHORIZED
    );

    // No decision: a result without a policy object, and no result yet.
    let res = api.get(&path(JOB_NO_POLICY), Some(&auditor), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    assert!(
        json_of(&res)["message"]
            .as_str()
            .is_some_and(|m| m.contains("no admission decision")),
        "{}",
        res.body
    );
    let res = api.get(&path(JOB_QUEUED), Some(&auditor), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    assert!(
        json_of(&res)["message"]
            .as_str()
            .is_some_and(|m| m.contains("no result yet")),
        "{}",
        res.body
    );

    // A malformed job id: 400.
    let res = api.get("/v1/decisions/bad%20id", Some(&auditor), None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert_eq!(json_of(&res)["error"], "bad_request");
}
