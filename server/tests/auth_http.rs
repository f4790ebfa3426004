//! The auditor API's authentication over HTTP (requests through the composed router, no
//! sockets, real PostgreSQL): the token endpoint (RFC 6749 §4.4), bearer-token checks (RFC 6750,
//! RFC 9068, RFC 8725), operator sessions, and the access log that records every request —
//! with no secret or token anywhere in it.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{form, Resp, TestDb, HOST, OPERATOR, OWN_ORIGIN, PASSWORD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tower::ServiceExt;
use zkq_audit::SigningKey;
use zkq_server::auth::clients;
use zkq_server::auth::tokens::{encoding_key, Claims};
use zkq_server::testing::MemoryBudgets;
use zkq_server::{operators, ApiConfig, ApiError, ApiState, AppState, Principal, Scope, ServerConfig};

const TEST_ROUTE: &str = "/v1/test/audit";
const KEY_SEED: [u8; 32] = [7; 32];

/// A route that needs `audit:read` and answers who asked (the data routes' pattern).
async fn audit_only(State(_st): State<Arc<ApiState>>, p: Principal) -> Result<axum::response::Response, ApiError> {
    p.require(Scope::AuditRead)?;
    Ok(Json(json!({ "client_id": p.client_id, "operator": p.operator, "tenant": p.tenant })).into_response())
}

struct Api {
    db: TestDb,
    api: Arc<ApiState>,
    router: Router,
}

impl Api {
    async fn new(test: &str) -> Api {
        let db = TestDb::new(test).await;
        operators::add_operator(&db.db, OPERATOR, PASSWORD).await.expect("operator");
        db.pg().await.batch_execute("insert into tenants (name) values ('acme'), ('beta')").await.expect("tenants");
        let api = Arc::new(ApiState::new(db.db.clone(), &SigningKey::from_seed(&KEY_SEED), ApiConfig::default()).expect("api state"));
        let admin_state = Arc::new(AppState::new(db.db.clone(), Arc::new(MemoryBudgets::new()), ServerConfig::default()));
        let routes = zkq_server::auth_router(api.clone())
            .merge(Router::new().route(TEST_ROUTE, get(audit_only)).with_state(api.clone()));
        let router = zkq_server::app(zkq_server::router(admin_state), routes, db.db.clone());
        Api { db, api, router }
    }

    async fn request(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20).await.expect("body");
        Resp { status, headers, body: String::from_utf8(bytes.to_vec()).expect("UTF-8") }
    }

    /// `POST /oauth/token` with `fields`, and HTTP Basic `basic` when given.
    async fn token_request(&self, basic: Option<(&str, &str)>, fields: &[(&str, &str)]) -> Resp {
        let mut req = Request::post("/oauth/token")
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let enc = |s: &str| form(&[("x", s)])[2..].to_owned();
            req = req.header("authorization", format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))));
        }
        self.request(req.body(Body::from(form(fields))).expect("request")).await
    }

    /// A token for `id` by form credentials (all its scopes, or `scope`).
    async fn token(&self, id: &str, secret: &str, scope: Option<&str>) -> String {
        let mut fields = vec![("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
        if let Some(s) = scope {
            fields.push(("scope", s));
        }
        let res = self.token_request(None, &fields).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        json_of(&res)["access_token"].as_str().expect("access_token").to_owned()
    }

    async fn get(&self, path: &str, bearer: Option<&str>, cookie: Option<&str>) -> Resp {
        let mut req = Request::get(path).header("host", HOST);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        self.request(req.body(Body::empty()).expect("request")).await
    }

    async fn add(&self, id: &str, scopes: &[Scope], tenant: Option<&str>) -> String {
        let scopes: BTreeSet<Scope> = scopes.iter().copied().collect();
        clients::add_client(&self.db.db, id, &scopes, tenant, "test").await.expect("add client").secret
    }

    /// Logs alice in through the admin form; the session cookie.
    async fn login(&self) -> String {
        let page = self.get("/admin/login", None, None).await;
        let token = page.csrf_field().expect("csrf field");
        let cookie = format!("zkq_login={}", page.cookie("zkq_login").expect("login cookie"));
        let req = Request::post("/admin/login")
            .header("host", HOST)
            .header("origin", OWN_ORIGIN)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form(&[("csrf", &token), ("name", OPERATOR), ("password", PASSWORD)])))
            .expect("request");
        let res = self.request(req).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        format!("zkq_session={}", res.cookie("zkq_session").expect("session"))
    }

    /// Every access event, oldest first: (method, route, path, status, outcome, client, operator, tenant, scopes).
    async fn events(&self) -> Vec<Event> {
        self.db
            .pg()
            .await
            .query(
                "select method, route, path, status, outcome, client_id, operator, tenant, scopes from access_events order by id",
                &[],
            )
            .await
            .expect("events")
            .iter()
            .map(|r| Event {
                method: r.get(0),
                route: r.get(1),
                path: r.get(2),
                status: r.get(3),
                outcome: r.get(4),
                client: r.get(5),
                operator: r.get(6),
                tenant: r.get(7),
                scopes: r.get(8),
            })
            .collect()
    }

    /// Every access event, whole, as text (to look for secrets in every column).
    async fn table_text(&self) -> String {
        let rows = self.db.pg().await.query("select t::text from access_events t", &[]).await.expect("rows");
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Event {
    method: String,
    route: String,
    path: String,
    status: i32,
    outcome: String,
    client: Option<String>,
    operator: Option<String>,
    tenant: Option<String>,
    scopes: String,
}

fn json_of(res: &Resp) -> Value {
    serde_json::from_str(&res.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", res.body))
}

fn header<'a>(res: &'a Resp, name: &str) -> &'a str {
    res.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(client: &str) -> Claims {
    Claims {
        iss: "zkq".into(),
        sub: client.into(),
        client_id: client.into(),
        aud: "zkq-auditor-api".into(),
        iat: now(),
        exp: now() + 300,
        jti: "00112233445566778899aabbccddeeff".into(),
        scope: "audit:read admin".into(),
        tenant: None,
    }
}

fn at_jwt(alg: Algorithm) -> Header {
    let mut h = Header::new(alg);
    h.typ = Some("at+jwt".into());
    h
}

fn sign(header: &Header, claims: &Claims, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("encode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_issued_for_good_credentials_by_basic_and_by_form() {
    let api = Api::new("token_ok").await;
    let secret = api.add("auditor-1", &[Scope::AuditRead, Scope::BudgetRead], None).await;
    assert!(secret.starts_with("zkqcs_") && secret.len() == 49, "{secret}");

    let res = api.token_request(Some(("auditor-1", &secret)), &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(header(&res, "cache-control"), "no-store");
    let v = json_of(&res);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 300);
    assert_eq!(v["scope"], "audit:read budget:read", "absent scope: all of the client's");
    let token = v["access_token"].as_str().expect("token");
    let h = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!((h.alg, h.typ.as_deref()), (Algorithm::EdDSA, Some("at+jwt")));
    let c = api.api.tokens.decode(token).expect("our token");
    assert_eq!((c.sub.as_str(), c.client_id.as_str(), c.iss.as_str(), c.aud.as_str()), ("auditor-1", "auditor-1", "zkq", "zkq-auditor-api"));
    assert_eq!(c.exp - c.iat, 300);
    let res = api.get(TEST_ROUTE, Some(token), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(json_of(&res)["client_id"], "auditor-1");

    // Form credentials, a narrower scope; and a tenant-bound client's token names its tenant.
    let narrow = api.token("auditor-1", &secret, Some("budget:read")).await;
    assert_eq!(api.api.tokens.decode(&narrow).expect("valid").scope, "budget:read");
    let res = api.get(TEST_ROUTE, Some(&narrow), None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&res)["error"], "insufficient_scope");
    assert_eq!(header(&res, "www-authenticate"), "Bearer realm=\"zkq\", error=\"insufficient_scope\", scope=\"audit:read\"");
    let bound_secret = api.add("acme-auditor", &[Scope::AuditRead], Some("acme")).await;
    let bound = api.token("acme-auditor", &bound_secret, None).await;
    assert_eq!(api.api.tokens.decode(&bound).expect("valid").tenant.as_deref(), Some("acme"));
    assert_eq!(json_of(&api.get(TEST_ROUTE, Some(&bound), None).await)["tenant"], "acme");
    // A secret with characters Basic must percent-encode is none of ours, but the decoding works.
    let res = api.token_request(Some(("auditor-1", "a:b+c%")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Clients with an unknown tenant are not created.
    let e = clients::add_client(&api.db.db, "x", &[Scope::AuditRead].into(), Some("nobody"), "t").await.expect_err("no tenant");
    assert!(e.to_string().contains("there is no tenant \"nobody\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_are_refused_as_rfc_6749_says() {
    let api = Api::new("token_refused").await;
    let secret = api.add("auditor-1", &[Scope::AuditRead], None).await;
    let revoked_secret = api.add("gone", &[Scope::AuditRead], None).await;
    assert!(clients::revoke_client(&api.db.db, "gone").await.expect("revoke"));
    assert!(!clients::revoke_client(&api.db.db, "gone").await.expect("revoke twice"));
    let cc = ("grant_type", "client_credentials");

    let mut bodies = Vec::new();
    for (who, id, s) in [("wrong secret", "auditor-1", "zkqcs_wrong"), ("unknown id", "nobody", secret.as_str()), ("revoked", "gone", revoked_secret.as_str())] {
        let res = api.token_request(None, &[cc, ("client_id", id), ("client_secret", s)]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{who}");
        assert_eq!(header(&res, "cache-control"), "no-store", "{who}");
        bodies.push(res.body.clone());
        let res = api.token_request(Some((id, s)), &[cc]).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{who} (Basic)");
        assert_eq!(header(&res, "www-authenticate"), "Basic realm=\"zkq\"", "{who}");
        assert_eq!(json_of(&res)["error"], "invalid_client");
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "the same answer whichever was wrong: {bodies:?}");
    assert!(!bodies[0].contains("secret is") && !bodies[0].contains("unknown"), "{}", bodies[0]);

    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("both methods", Some(("auditor-1", &secret)), vec![cc, ("client_id", "auditor-1"), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "invalid_request"),
        ("wrong grant", None, vec![("grant_type", "password"), ("client_id", "auditor-1"), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        ("no grant", None, vec![("client_id", "auditor-1"), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "invalid_request"),
        ("scope not granted", None, vec![cc, ("client_id", "auditor-1"), ("client_secret", &secret), ("scope", "audit:read admin")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("unknown scope", None, vec![cc, ("client_id", "auditor-1"), ("client_secret", &secret), ("scope", "everything")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("twice", None, vec![cc, cc, ("client_id", "auditor-1"), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "invalid_request"),
        ("id alone", None, vec![cc, ("client_id", "auditor-1")], StatusCode::BAD_REQUEST, "invalid_request"),
        ("no client", None, vec![cc], StatusCode::UNAUTHORIZED, "invalid_client"),
    ];
    for (what, basic, fields, status, code) in cases {
        let res = api.token_request(basic, &fields).await;
        assert_eq!(res.status, status, "{what}: {}", res.body);
        assert_eq!(json_of(&res)["error"], code, "{what}");
        assert!(json_of(&res)["error_description"].is_string(), "{what}");
        assert!(!res.body.contains("access_token"), "{what}");
    }
    let req = Request::post("/oauth/token").header("content-type", "application/json").body(Body::from("{}")).expect("req");
    let res = api.request(req).await;
    assert_eq!((res.status, json_of(&res)["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    assert_eq!(api.get("/oauth/token", None, None).await.status, StatusCode::METHOD_NOT_ALLOWED);

    // The log names who asked (never the secret), and the refusals' outcomes.
    let events = api.events().await;
    let tokens: Vec<&Event> = events.iter().filter(|e| e.route == "/oauth/token").collect();
    assert!(tokens.iter().filter(|e| e.client.as_deref() == Some("nobody")).all(|e| e.outcome == "unauthenticated"));
    assert!(tokens.iter().any(|e| e.client.as_deref() == Some("gone") && e.status == 401));
    assert!(tokens.iter().any(|e| e.outcome == "bad_request" && e.client.as_deref() == Some("auditor-1")));
    let text = api.table_text().await;
    for s in [&secret, &revoked_secret] {
        assert!(!text.contains(s.as_str()), "a secret is in the access log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bearer_tokens_get_401_and_missing_scopes_403() {
    let api = Api::new("bearer").await;
    let secret = api.add("auditor-1", &[Scope::AuditRead, Scope::Admin], None).await;
    let budget_secret = api.add("budget-only", &[Scope::BudgetRead], None).await;
    let good = api.token("auditor-1", &secret, None).await;
    assert_eq!(api.get(TEST_ROUTE, Some(&good), None).await.status, StatusCode::OK);
    assert_eq!(api.get("/v1/access-log", Some(&good), None).await.status, StatusCode::OK);

    let res = api.get(TEST_ROUTE, None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&res, "www-authenticate"), "Bearer realm=\"zkq\"");
    assert_eq!(json_of(&res)["error"], "unauthenticated");

    let budget_only = api.token("budget-only", &budget_secret, None).await;
    for path in [TEST_ROUTE, "/v1/access-log"] {
        let res = api.get(path, Some(&budget_only), None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(json_of(&res)["error"], "insufficient_scope");
    }

    let ours = encoding_key(&SigningKey::from_seed(&KEY_SEED)).expect("key");
    let other = encoding_key(&SigningKey::from_seed(&[9; 32])).expect("key");
    let b64 = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let claims_json = serde_json::to_value(claims("auditor-1")).expect("claims");
    let expired = Claims { iat: now() - 1000, exp: now() - 120, ..claims("auditor-1") };
    let mut jwt_typ = Header::new(Algorithm::EdDSA);
    jwt_typ.typ = Some("JWT".into());
    let no_typ = Header { typ: None, ..Header::new(Algorithm::EdDSA) };
    let cases: Vec<(&str, String)> = vec![
        ("expired", sign(&at_jwt(Algorithm::EdDSA), &expired, &ours)),
        ("wrong issuer", sign(&at_jwt(Algorithm::EdDSA), &Claims { iss: "evil".into(), ..claims("auditor-1") }, &ours)),
        ("wrong audience", sign(&at_jwt(Algorithm::EdDSA), &Claims { aud: "other-api".into(), ..claims("auditor-1") }, &ours)),
        ("alg none", format!("{}.{}.", b64(json!({"alg": "none", "typ": "at+jwt"})), b64(claims_json.clone()))),
        ("alg none, signature kept", format!("{}.{}.{}", b64(json!({"alg": "none", "typ": "at+jwt"})), b64(claims_json.clone()), good.rsplit('.').next().unwrap_or_default())),
        ("HS256", sign(&at_jwt(Algorithm::HS256), &claims("auditor-1"), &EncodingKey::from_secret(b"zkq-auditor-api"))),
        ("another key", sign(&at_jwt(Algorithm::EdDSA), &claims("auditor-1"), &other)),
        ("typ JWT", sign(&jwt_typ, &claims("auditor-1"), &ours)),
        ("no typ", sign(&no_typ, &claims("auditor-1"), &ours)),
        ("sub is not client_id", sign(&at_jwt(Algorithm::EdDSA), &Claims { sub: "someone".into(), ..claims("auditor-1") }, &ours)),
        ("unknown client", sign(&at_jwt(Algorithm::EdDSA), &claims("nobody"), &ours)),
        ("garbage", "not.a.token".to_owned()),
        ("tampered payload", {
            let parts: Vec<&str> = good.split('.').collect();
            let mut c = api.api.tokens.decode(&good).expect("valid");
            c.scope = "audit:read admin budget:read".into();
            format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).expect("json")), parts[2])
        }),
    ];
    // Sanity: our own key signs a token the route accepts, so the refusals are for the reason named.
    let control = sign(&at_jwt(Algorithm::EdDSA), &claims("auditor-1"), &ours);
    assert_eq!(api.get(TEST_ROUTE, Some(&control), None).await.status, StatusCode::OK);
    for (what, token) in &cases {
        let res = api.get(TEST_ROUTE, Some(token), None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{what}: {}", res.body);
        assert_eq!(header(&res, "www-authenticate"), "Bearer realm=\"zkq\", error=\"invalid_token\"", "{what}");
        assert_eq!(json_of(&res)["error"], "invalid_token", "{what}");
    }
    // Revocation takes effect at once, for tokens already issued.
    assert!(clients::revoke_client(&api.db.db, "auditor-1").await.expect("revoke"));
    let res = api.get(TEST_ROUTE, Some(&good), None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(json_of(&res)["message"].as_str().is_some_and(|m| m.contains("revoked")), "{}", res.body);

    let events = api.events().await;
    let refused: Vec<&Event> = events.iter().filter(|e| e.route == TEST_ROUTE && e.status == 401).collect();
    assert_eq!(refused.len(), 1 + cases.len() + 1, "{events:#?}");
    assert!(refused.iter().all(|e| e.outcome == "unauthenticated" && e.client.is_none()));
    let forbidden: Vec<&Event> = events.iter().filter(|e| e.outcome == "forbidden").collect();
    assert_eq!(forbidden.len(), 2);
    assert!(forbidden.iter().all(|e| e.client.as_deref() == Some("budget-only") && e.scopes == "budget:read"));
    let text = api.table_text().await;
    for t in cases.iter().map(|(_, t)| t.as_str()).chain([good.as_str(), budget_only.as_str(), secret.as_str()]) {
        assert!(!text.contains(t), "a token or secret is in the access log");
    }
    // No part of a token either (its signature, its payload).
    assert!(!text.contains(good.rsplit('.').next().unwrap_or("x")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_sessions_get_admin_and_every_request_is_logged() {
    let api = Api::new("sessions_and_log").await;
    let secret = api.add("auditor-1", &[Scope::AuditRead], Some("acme")).await;
    let cookie = api.login().await;
    let res = api.get("/v1/access-log?limit=5", None, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(header(&res, "cache-control"), "no-store");
    let res = api.get(TEST_ROUTE, None, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "an operator holds admin only");
    // A POST does not take the session (no CSRF token on the API).
    let req = Request::post(TEST_ROUTE).header("cookie", &cookie).body(Body::empty()).expect("req");
    assert_eq!(api.request(req).await.status, StatusCode::METHOD_NOT_ALLOWED);
    let res = api.get("/v1/access-log", None, Some("zkq_session=0000")).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "a dead session is no session");

    let token = api.token("auditor-1", &secret, None).await;
    assert_eq!(api.get(&format!("{TEST_ROUTE}?access_token={token}&secret={secret}"), Some(&token), None).await.status, StatusCode::OK);
    assert_eq!(api.get("/healthz", None, None).await.status, StatusCode::OK);
    assert_eq!(api.get("/no/such/page", None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/admin/budgets", None, Some(&cookie)).await.status, StatusCode::OK);
    let long = format!("/{}", "x".repeat(600));
    assert_eq!(api.get(&long, None, None).await.status, StatusCode::NOT_FOUND);
    let res = api.get("/v1/access-log?limit=0", None, Some(&cookie)).await;
    assert_eq!((res.status, json_of(&res)["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let res = api.get("/v1/access-log?since=yesterday", None, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = api.get("/v1/access-log?color=red", None, Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    let events = api.events().await;
    let find = |method: &str, path: &str| {
        events
            .iter()
            .find(|e| e.method == method && e.path == path)
            .unwrap_or_else(|| panic!("no event {method} {path} in {events:#?}"))
            .clone()
    };
    let login = find("POST", "/admin/login");
    assert_eq!((login.route.as_str(), login.status, login.outcome.as_str()), ("/admin/login", 303, "ok"));
    assert_eq!(login.operator.as_deref(), Some(OPERATOR), "a login is attributed to who logged in");
    assert_eq!(find("GET", "/admin/login").operator, None);
    let pages = find("GET", "/admin/budgets");
    assert_eq!((pages.operator.as_deref(), pages.scopes.as_str(), pages.outcome.as_str()), (Some(OPERATOR), "admin", "ok"));
    let log = find("GET", "/v1/access-log");
    assert_eq!((log.route.as_str(), log.operator.as_deref(), log.scopes.as_str()), ("/v1/access-log", Some(OPERATOR), "admin"));
    assert!(log.client.is_none() && log.tenant.is_none());
    let health = find("GET", "/healthz");
    assert_eq!((health.route.as_str(), health.outcome.as_str(), health.operator.clone()), ("/healthz", "ok", None));
    let missing = find("GET", "/no/such/page");
    assert_eq!((missing.route.as_str(), missing.status, missing.outcome.as_str()), ("-", 404, "not_found"));
    let truncated = events.iter().find(|e| e.path.starts_with("/xxx")).expect("the long path");
    assert_eq!(truncated.path.chars().count(), 512);
    let minted = events.iter().find(|e| e.route == "/oauth/token").expect("token event");
    assert_eq!((minted.client.as_deref(), minted.tenant.as_deref(), minted.scopes.as_str(), minted.status), (Some("auditor-1"), Some("acme"), "audit:read", 200));
    let used: Vec<&Event> = events.iter().filter(|e| e.route == TEST_ROUTE).collect();
    assert_eq!(used.len(), 3);
    assert_eq!((used[0].operator.as_deref(), used[0].outcome.as_str()), (Some(OPERATOR), "forbidden"));
    assert_eq!(used[1].outcome, "bad_request", "405");
    assert_eq!((used[2].client.as_deref(), used[2].tenant.as_deref(), used[2].path.as_str()), (Some("auditor-1"), Some("acme"), TEST_ROUTE));
    assert!(events.iter().filter(|e| e.path == "/v1/access-log").any(|e| e.outcome == "bad_request"));
    assert!(events.iter().any(|e| e.path == "/v1/access-log" && e.outcome == "unauthenticated"));
    let text = api.table_text().await;
    assert!(!text.contains(&secret) && !text.contains(&token), "no secret, no token, no query string");
    assert!(!text.contains(PASSWORD) && !text.contains(cookie.trim_start_matches("zkq_session=")));

    // The route: newest first, filtered by client and time.
    let res = api.get("/v1/access-log?client=auditor-1", None, Some(&cookie)).await;
    let rows = json_of(&res);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(rows.iter().all(|r| r["client_id"] == "auditor-1"));
    assert_eq!(rows[0]["route"], TEST_ROUTE, "newest first");
    assert!(rows[0]["id"].as_i64() > rows[1]["id"].as_i64());
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let res = api.get(&format!("/v1/access-log?since={future}"), None, Some(&cookie)).await;
    assert_eq!(json_of(&res), json!([]));
    let res = api.get("/v1/access-log?limit=2", None, Some(&cookie)).await;
    assert_eq!(json_of(&res).as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_access_log_withholds_the_answer() {
    let api = Api::new("log_down").await;
    let secret = api.add("auditor-1", &[Scope::AuditRead], None).await;
    api.db.pg().await.batch_execute("alter table access_events add constraint refuse_all check (false) not valid").await.expect("break the table");
    let res = api.token_request(None, &[("grant_type", "client_credentials"), ("client_id", "auditor-1"), ("client_secret", &secret)]).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert!(!res.body.contains("access_token"), "no token leaves unrecorded");
    assert_eq!(json_of(&res)["error"], "unavailable");
    assert_eq!(api.get("/healthz", None, None).await.status, StatusCode::SERVICE_UNAVAILABLE);
}
