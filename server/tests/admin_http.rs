//! The admin pages over HTTP (requests through the router, no browser): authentication,
//! sessions, CSRF defences, escaping, plain-word errors. Each test checks real effects: the
//! in-memory ledger and the session table, not only status codes.

mod common;

use axum::http::StatusCode;
use common::{App, Login, OPERATOR, OWN_ORIGIN, PASSWORD};
use zkq_server::{operators, sessions, BudgetAdmin};

const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];

fn cap_form<'a>(login: &'a Login, cap: &'a str, reason: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", &login.csrf),
        ("tenant", "acme"),
        ("purpose", "ads"),
        ("cap", cap),
        ("reason", reason),
    ]
}

fn cap_of(app: &App) -> String {
    app.budgets.ledger("acme", "ads").expect("ledger").cap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_go_to_the_login_page_and_change_nothing() {
    let app = App::new("unauthenticated").await;
    for path in ["/admin/budgets", "/admin", "/"] {
        let res = app.get(path, "").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}");
        assert!(res.location().is_some_and(|l| l.starts_with("/admin")), "{path}");
    }
    let res = app.get("/admin/budgets", "").await;
    assert_eq!(res.location(), Some("/admin/login"));
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            res.headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{name}"
        );
    }
    // A made-up session cookie is no session.
    let res = app
        .get("/admin/budgets", &format!("zkq_session={}", "ab".repeat(32)))
        .await;
    assert_eq!(res.location(), Some("/admin/login"));
    // A POST without a session is sent to log in, and nothing changes.
    let res = app
        .post(
            "/admin/budgets/cap",
            "",
            Some(OWN_ORIGIN),
            &[("tenant", "acme"), ("purpose", "ads"), ("cap", "9"), ("reason", "x")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/admin/login"));
    assert_eq!(cap_of(&app), "2.0");
    assert!(app.budgets.receipts().is_empty());
    // The login page itself carries the headers, and the session-less health check answers.
    let login = app.get("/admin/login", "").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.headers.get("content-security-policy").is_some());
    assert!(login.cookie("zkq_login").is_some_and(|_| login
        .set_cookies()
        .iter()
        .all(|c| c.contains("HttpOnly; SameSite=Strict"))));
    assert_eq!(app.get("/healthz", "").await.status, StatusCode::OK);
    assert_eq!(app.get("/nope", "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_operator_sets_a_cap_and_resets_with_a_reason() {
    let app = App::new("happy_path").await;
    let login = app.login().await;
    let res = app
        .post(
            "/admin/budgets/cap",
            &login.cookie,
            Some(OWN_ORIGIN),
            &cap_form(&login, "3.5", "more ads"),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/admin/budgets"));
    let row = app.budgets.ledger("acme", "ads").expect("ledger");
    assert_eq!((row.cap.as_str(), row.remaining.as_str()), ("3.5", "3.0"));
    let receipts = app.budgets.receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        receipts[0].actor.as_deref(),
        Some(OPERATOR),
        "the actor is the logged-in operator"
    );
    assert_eq!(receipts[0].reason.as_deref(), Some("more ads"));
    // The flash message arrives once, on the next page.
    let flash = res.cookie("zkq_flash").expect("a flash cookie");
    let page = app
        .get("/admin/budgets", &format!("{}; zkq_flash={flash}", login.cookie))
        .await;
    assert!(
        page.body.contains("The cap of acme × ads is now 3.5 ε."),
        "{}",
        page.body
    );
    assert_eq!(
        page.cookie("zkq_flash").as_deref(),
        Some(""),
        "the flash cookie is deleted once shown"
    );

    let reset = [
        ("csrf", login.csrf.as_str()),
        ("tenant", "acme"),
        ("purpose", "ads"),
        ("reason", "new quarter"),
    ];
    let res = app.post("/admin/budgets/reset", &login.cookie, None, &reset).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(app.budgets.ledger("acme", "ads").expect("ledger").spent, "0.0");
    assert_eq!(app.budgets.receipts().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = App::new("no_csrf").await;
    let login = app.login().await;
    let fields = [
        ("tenant", "acme"),
        ("purpose", "ads"),
        ("cap", "9"),
        ("reason", "forged"),
    ];
    let res = app
        .post("/admin/budgets/cap", &login.cookie, Some(OWN_ORIGIN), &fields)
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("Nothing was changed"), "{}", res.body);
    let res = app
        .post(
            "/admin/budgets/cap",
            &login.cookie,
            None,
            &[("csrf", ""), fields[0], fields[1], fields[2], fields[3]],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let reset = [("tenant", "acme"), ("purpose", "ads"), ("reason", "forged")];
    assert_eq!(
        app.post("/admin/budgets/reset", &login.cookie, None, &reset)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post("/admin/logout", &login.cookie, None, &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(cap_of(&app), "2.0");
    assert_eq!(app.budgets.ledger("acme", "ads").expect("ledger").spent, "0.5");
    assert!(app.budgets.receipts().is_empty());
    assert_eq!(
        app.get("/admin/budgets", &login.cookie).await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sessions_csrf_token_is_refused() {
    let app = App::new("other_csrf").await;
    operators::add_operator(&app.db.db, "bob", "bobs password is long")
        .await
        .expect("add bob");
    let alice = app.login().await;
    let bob = app.login_as("bob", "bobs password is long").await;
    let alice_again = app.login().await;
    assert_ne!(alice.csrf, bob.csrf);
    assert_ne!(alice.csrf, alice_again.csrf, "each session has its own token");
    for stolen in [&bob.csrf, &alice_again.csrf] {
        let fields = [
            ("csrf", stolen.as_str()),
            ("tenant", "acme"),
            ("purpose", "ads"),
            ("cap", "9"),
            ("reason", "x"),
        ];
        let res = app
            .post("/admin/budgets/cap", &alice.cookie, Some(OWN_ORIGIN), &fields)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(cap_of(&app), "2.0");
    assert!(app.budgets.receipts().is_empty());
    // The right token works (the refusals were about the token, not something else).
    let res = app
        .post(
            "/admin/budgets/cap",
            &alice.cookie,
            Some(OWN_ORIGIN),
            &cap_form(&alice, "9", "x"),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(cap_of(&app), "9.0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_from_a_foreign_origin_is_refused() {
    let app = App::new("foreign_origin").await;
    let login = app.login().await;
    for origin in [
        "http://evil.example",
        "null",
        "https://zkq.test",
        "http://zkq.test:8480",
    ] {
        let res = app
            .post(
                "/admin/budgets/cap",
                &login.cookie,
                Some(origin),
                &cap_form(&login, "9", "x"),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{origin}");
        assert!(res.body.contains("sent from another site"), "{}", res.body);
    }
    // Login forms from elsewhere are refused too (login CSRF), even with a valid token pair.
    let (token, cookie) = app.login_form().await;
    let res = app
        .post(
            "/admin/login",
            &cookie,
            Some("http://evil.example"),
            &[("csrf", &token), ("name", OPERATOR), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.cookie("zkq_session").is_none());
    // …and a login without the double-submit cookie.
    let res = app
        .post(
            "/admin/login",
            "",
            None,
            &[("csrf", &token), ("name", OPERATOR), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.cookie("zkq_session").is_none());
    assert_eq!(cap_of(&app), "2.0");
    assert!(app.budgets.receipts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_logged_out() {
    let app = App::new("expired").await;
    let login = app.login().await;
    let pg = app.db.pg().await;
    let n = pg
        .execute(
            "update operator_sessions set expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .expect("expire");
    assert_eq!(n, 1);
    let res = app.get("/admin/budgets", &login.cookie).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/admin/login"));
    let res = app
        .post(
            "/admin/budgets/cap",
            &login.cookie,
            Some(OWN_ORIGIN),
            &cap_form(&login, "9", "x"),
        )
        .await;
    assert_eq!(res.location(), Some("/admin/login"));
    assert_eq!(cap_of(&app), "2.0");
    // The next login deletes expired rows.
    let _fresh = app.login().await;
    let rows: i64 = pg
        .query_one("select count(*) from operator_sessions", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_store_only_a_digest_and_logout_and_removal_end_them() {
    let app = App::new("session_storage").await;
    let login = app.login().await;
    let token = login.cookie.trim_start_matches("zkq_session=").to_owned();
    let pg = app.db.pg().await;
    let stored: String = pg
        .query_one("select token_sha256 from operator_sessions", &[])
        .await
        .expect("row")
        .get(0);
    assert_ne!(stored, token);
    assert_eq!(Some(stored), sessions::token_digest(&token));
    let cookie = app.get("/admin/login", "").await;
    drop(cookie);

    let res = app
        .post(
            "/admin/logout",
            &login.cookie,
            Some(OWN_ORIGIN),
            &[("csrf", &login.csrf)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/admin/login"));
    assert_eq!(res.cookie("zkq_session").as_deref(), Some(""), "the cookie is deleted");
    let rows: i64 = pg
        .query_one("select count(*) from operator_sessions", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0, "logout deletes the session");
    assert_eq!(
        app.get("/admin/budgets", &login.cookie).await.location(),
        Some("/admin/login")
    );

    // Removing an operator ends their sessions at once.
    let login = app.login().await;
    assert!(operators::remove_operator(&app.db.db, OPERATOR).await.expect("remove"));
    assert_eq!(
        app.get("/admin/budgets", &login.cookie).await.location(),
        Some("/admin/login")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_disabled_and_wrong_password_logins_fail_the_same_way() {
    let app = App::new("login_failures").await;
    operators::add_operator(&app.db.db, "carol", "carols password is long")
        .await
        .expect("add carol");
    assert!(operators::remove_operator(&app.db.db, "carol")
        .await
        .expect("remove carol"));
    let mut answers = Vec::new();
    for (name, password) in [
        ("mallory", "whatever password"),
        ("carol", "carols password is long"),
        (OPERATOR, "not her password"),
        ("<bad name>", "x"),
    ] {
        let (token, cookie) = app.login_form().await;
        let res = app
            .post(
                "/admin/login",
                &cookie,
                Some(OWN_ORIGIN),
                &[("csrf", &token), ("name", name), ("password", password)],
            )
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{name}");
        assert!(res.set_cookies().is_empty(), "{name}: no cookie of any kind");
        assert!(res.body.contains("Wrong name or password."), "{name}");
        // The same page but for the echoed name and the form's token.
        let escaped = zkq_server::html::escape(name);
        answers.push(
            res.body
                .replace(&token, "TOKEN")
                .replace(&format!("value=\"{escaped}\""), "value=\"NAME\""),
        );
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "every failure looks the same");
    let rows: i64 = app
        .db
        .pg()
        .await
        .query_one("select count(*) from operator_sessions", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0);
    // A re-added operator can log in again, with the new password only.
    operators::add_operator(&app.db.db, "carol", "carols new password!")
        .await
        .expect("re-add carol");
    assert!(operators::authenticate(&app.db.db, "carol", "carols password is long")
        .await
        .expect("auth")
        .is_none());
    assert!(operators::authenticate(&app.db.db, "carol", "carols new password!")
        .await
        .expect("auth")
        .is_some());
    assert!(
        operators::add_operator(&app.db.db, "carol", "carols new password!")
            .await
            .is_err(),
        "no duplicate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_and_reasons_are_rendered_escaped() {
    let app = App::new("escaping").await;
    let evil = "<script>alert(1)</script>";
    app.budgets
        .add_ledger(evil, "p\"urpose'", "sliding:24h", "1", "0")
        .expect("ledger");
    app.budgets.add_block(
        evil,
        "p\"urpose'",
        "job<1>",
        "0.5",
        "budget \"exhausted\" & <b>blocked</b>",
    );
    let login = app.login().await;
    let reason = "the \"new\" cap & 'why' <i>";
    let fields = [
        ("csrf", login.csrf.as_str()),
        ("tenant", evil),
        ("purpose", "p\"urpose'"),
        ("cap", "2"),
        ("reason", reason),
    ];
    let res = app
        .post("/admin/budgets/cap", &login.cookie, Some(OWN_ORIGIN), &fields)
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let flash = res.cookie("zkq_flash").expect("flash");
    let page = app
        .get("/admin/budgets", &format!("{}; zkq_flash={flash}", login.cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for raw in [evil, "<b>", "<i>", "job<1>", reason, "p\"urpose'"] {
        assert!(!page.body.contains(raw), "{raw:?} appears unescaped");
    }
    assert!(!page.body.contains("<script"), "no script element");
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        page.body
            .contains("the &quot;new&quot; cap &amp; &#39;why&#39; &lt;i&gt;"),
        "the receipt's reason"
    );
    assert!(
        page.body.contains("value=\"p&quot;urpose&#39;\""),
        "attribute values too"
    );
    assert_eq!(
        app.budgets.ledger(evil, "p\"urpose'").expect("ledger").cap,
        "2.0",
        "the hidden fields round-trip"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_refusals_and_failures_are_shown_in_plain_words() {
    let app = App::new("plain_errors").await;
    let login = app.login().await;
    let cases = [
        (
            cap_form(&login, "abc", "r"),
            "Nothing was changed: the cap must be a positive decimal number with at most 6 decimals",
        ),
        (cap_form(&login, "1.1234567", "r"), "at most 6 decimals"),
        (
            cap_form(&login, "3", "   "),
            "Nothing was changed: a reason is required",
        ),
        (cap_form(&login, "", "r"), "Nothing was changed: a new cap is required"),
    ];
    for (fields, expected) in &cases {
        let res = app
            .post("/admin/budgets/cap", &login.cookie, Some(OWN_ORIGIN), fields)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let flash = res.cookie("zkq_flash").expect("flash");
        let page = app
            .get("/admin/budgets", &format!("{}; zkq_flash={flash}", login.cookie))
            .await;
        assert!(page.body.contains("class=\"flash error\""), "{expected}");
        assert!(
            page.body.contains(&zkq_server::html::escape(expected)),
            "{expected}: {}",
            page.body
        );
    }
    assert_eq!(cap_of(&app), "2.0");
    assert!(app.budgets.receipts().is_empty());

    app.budgets.fail_with(Some("connection refused"));
    let page = app.get("/admin/budgets", &login.cookie).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body
            .contains("Some figures are missing: the budget backend failed: connection refused."),
        "{}",
        page.body
    );
    let res = app
        .post(
            "/admin/budgets/cap",
            &login.cookie,
            Some(OWN_ORIGIN),
            &cap_form(&login, "3", "r"),
        )
        .await;
    let flash = res.cookie("zkq_flash").expect("flash");
    app.budgets.fail_with(None);
    let page = app
        .get("/admin/budgets", &format!("{}; zkq_flash={flash}", login.cookie))
        .await;
    assert!(page
        .body
        .contains("Nothing was changed: the budget backend failed: connection refused."));
    // A body that is not a form: a plain 400, nothing changed.
    let req = axum::http::Request::post("/admin/budgets/cap")
        .header("host", common::HOST)
        .header("cookie", &login.cookie)
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{}"))
        .expect("request");
    let res = app.request(req).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.body.contains("The form could not be read. Nothing was changed."));
    assert_eq!(app.budgets.ledgers().await.expect("ledgers").len(), 2);
}
