//! `zkq auth client …`, `zkq audit access-log` and the auditor API of `zkq serve` as a user runs
//! them: the real binary against a private PostgreSQL schema (dropped afterwards). The HTTP
//! behaviour itself is tested in zkq-server (`server/tests/auth_http.rs`); here: the secret
//! printed once and never stored, exit codes, JSON output, and a served token endpoint whose
//! requests land in the access log with the peer's address.

mod served;

use served::{check, exchange, psql, Schema, Serve};

/// A form POST; the whole answer.
fn post_form(addr: &str, path: &str, body: &str) -> String {
    exchange(addr, "POST", path, &[("Content-Type", "application/x-www-form-urlencoded")], body)
}

#[test]
fn clients_are_added_listed_and_revoked_and_the_secret_is_shown_once() {
    let s = Schema::new();
    let list = check(&s.zkq(&["auth", "client", "list", "--format", "json"], None), 0, "");
    assert_eq!(list.trim(), "[]");
    psql(&format!("insert into {}.tenants (name) values ('acme')", s.0));

    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "audit:write"], None), 2, "unknown scope");
    check(&s.zkq(&["auth", "client", "add", "a1"], None), 2, "--scope");
    check(&s.zkq(&["auth", "client", "add", "not valid", "--scope", "admin"], None), 2, "invalid client id");
    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "admin", "--tenant", "nobody"], None), 11, "there is no tenant \"nobody\"");

    let out = check(
        &s.zkq(&["auth", "client", "add", "a1", "--scope", "audit:read", "--scope", "budget:read", "--tenant", "acme", "--format", "json"], None),
        0,
        "shown once and not stored",
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let secret = v["client_secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("zkqcs_") && secret.len() == 49, "{secret}");
    assert_eq!(v["scopes"], serde_json::json!(["audit:read", "budget:read"]));
    assert_eq!(v["tenant"], "acme");
    let text = check(&s.zkq(&["auth", "client", "add", "a2", "--scope", "costs:read"], None), 0, "not stored");
    assert!(text.contains("client_secret: zkqcs_"), "{text}");
    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "admin"], None), 2, "already exists");

    let stored = psql(&format!("select t::text from {}.oauth_clients t", s.0)).join("\n");
    assert!(!stored.contains(&secret), "only the digest is stored");
    let list = check(&s.zkq(&["auth", "client", "list", "--format", "json"], None), 0, "");
    assert!(!list.contains("zkqcs_"), "list never shows secrets");
    let v: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!((v[0]["client_id"].as_str(), v[1]["client_id"].as_str()), (Some("a1"), Some("a2")));
    assert!(v[0]["revoked_at"].is_null());
    assert!(v[0]["created_by"].as_str().is_some_and(|c| c.starts_with("zkq auth client add")));

    check(&s.zkq(&["auth", "client", "revoke", "a1"], None), 0, "revoked");
    check(&s.zkq(&["auth", "client", "revoke", "a1"], None), 11, "there is no client \"a1\"");
    check(&s.zkq(&["auth", "client", "revoke", "ghost"], None), 11, "there is no client \"ghost\"");
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["auth", "client", "list", "--format", "json"], None), 0, "")).expect("JSON");
    assert!(v[0]["revoked_at"].is_string());
    let text = check(&s.zkq(&["auth", "client", "list"], None), 0, "");
    assert!(text.starts_with("CLIENT") && text.contains("audit:read budget:read") && text.contains("acme"), "{text}");
}

#[test]
fn the_access_log_is_listed_newest_first_and_filtered() {
    let s = Schema::new();
    check(&s.zkq(&["audit", "access-log", "--format", "json"], None), 0, "");
    psql(&format!(
        "insert into {0}.access_events (at, client_id, operator, scopes, method, route, path, status, outcome, duration_ms)
         values ('2026-01-01T00:00:00Z', 'c1', null, 'audit:read', 'GET', '/v1/x', '/v1/x', 200, 'ok', 1.5),
                ('2026-01-02T00:00:00Z', null, 'alice', 'admin', 'GET', '/admin/budgets', '/admin/budgets', 200, 'ok', 2),
                ('2026-01-03T00:00:00Z', 'c1', null, '', 'GET', '-', '/nope', 404, 'not_found', 0.2)",
        s.0
    ));
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--format", "json"], None), 0, "")).expect("JSON");
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["path"].as_str(), rows[0]["outcome"].as_str()), (Some("/nope"), Some("not_found")));
    let v: serde_json::Value =
        serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--client", "c1", "--since", "2026-01-02T00:00:00Z", "--format", "json"], None), 0, ""))
            .expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["route"], "-");
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--limit", "1", "--format", "json"], None), 0, "")).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let text = check(&s.zkq(&["audit", "access-log"], None), 0, "");
    assert!(text.contains("operator:alice") && text.contains("/admin/budgets"), "{text}");
    check(&s.zkq(&["audit", "access-log", "--limit", "0"], None), 2, "limit must be");
    check(&s.zkq(&["audit", "access-log", "--since", "yesterday"], None), 2, "RFC 3339");
}

#[test]
fn serve_issues_tokens_with_its_own_key_and_logs_the_peer() {
    let s = Schema::new();
    let keys = tempfile::tempdir().expect("tmp");
    let key_dir = keys.path().join("keys");
    let out = check(&s.zkq(&["auth", "client", "add", "svc", "--scope", "admin", "--format", "json"], None), 0, "");
    let secret = serde_json::from_str::<serde_json::Value>(&out).expect("JSON")["client_secret"].as_str().expect("secret").to_owned();
    let mut command = s.command(&["serve", "--listen", "127.0.0.1:0", "--token-ttl-secs", "60", "--token-audience", "test-aud"]);
    command.arg("--key-dir").arg(&key_dir);
    let serve = Serve::start(command);
    let addr = serve.addr.clone();
    let result = std::panic::catch_unwind(|| {
        let answer = post_form(&addr, "/oauth/token", &format!("grant_type=client_credentials&client_id=svc&client_secret={secret}"));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"expires_in\":60") && answer.contains("cache-control: no-store"), "{answer}");
        let refused = post_form(&addr, "/oauth/token", "grant_type=client_credentials&client_id=svc&client_secret=zkqcs_nope");
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    });
    let said = serve.said.clone();
    let (status, rest) = serve.stop();
    if let Err(p) = result {
        eprintln!("zkq serve said: {said}{rest}");
        std::panic::resume_unwind(p);
    }
    let rest = format!("{said}{rest}");
    assert!(status.success(), "{rest}");
    assert!(rest.contains("token endpoint"), "{rest}");
    let key = keys.path().join("auth/tokens.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).expect("the token key was created").permissions().mode() & 0o777, 0o600);

    let rows = psql(&format!("select concat_ws(' ', client_id, route, status, outcome, remote) from {}.access_events order by id", s.0));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("svc /oauth/token 200 ok 127.0.0.1:"), "{rows:?}");
    assert!(rows[1].starts_with("svc /oauth/token 401 unauthenticated 127.0.0.1:"), "{rows:?}");
    assert!(!addr.is_empty());
    let all = psql(&format!("select t::text from {}.access_events t", s.0)).join("\n");
    assert!(!all.contains(&secret) && !all.contains("zkqcs_"), "{all}");
}
