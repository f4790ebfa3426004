//! `zkq auth client …`, `zkq audit access-log` and the auditor API of `zkq serve` as a user runs
//! them: the real binary against a private PostgreSQL schema (dropped afterwards). The HTTP
//! behaviour itself is tested in zkq-server (`server/tests/auth_http.rs`); here: the secret
//! printed once and never stored, exit codes, JSON output, and a served token endpoint whose
//! requests land in the access log with the peer's address.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");
const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";

fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// Runs `sql`; the rows' first columns as text.
fn psql(sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test database ({}): {e}; run scripts/services.sh", pg_base()));
        tokio::spawn(conn);
        client.simple_query(sql).await.expect(sql).into_iter().filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or_default().to_owned()),
            _ => None,
        }).collect()
    })
}

/// A private schema, dropped on drop.
struct Schema(String);

impl Schema {
    fn new() -> Schema {
        let name = format!("zkqa_{}_{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        psql(&format!("create schema {name}"));
        Schema(name)
    }

    fn url(&self) -> String {
        format!("{} options=-csearch_path={}", pg_base(), self.0)
    }

    fn zkq(&self, args: &[&str]) -> Output {
        Command::new(ZKQ).args(args).env("ZKQ_PG_URL", self.url()).stdin(Stdio::null()).output().expect("run zkq")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("drop schema if exists {} cascade", self.0));
    }
}

fn check(o: &Output, code: i32, stderr_has: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(stderr_has), "{stderr_has:?} not in {err:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn clients_are_added_listed_and_revoked_and_the_secret_is_shown_once() {
    let s = Schema::new();
    let list = check(&s.zkq(&["auth", "client", "list", "--format", "json"]), 0, "");
    assert_eq!(list.trim(), "[]");
    psql(&format!("insert into {}.tenants (name) values ('acme')", s.0));

    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "audit:write"]), 2, "unknown scope");
    check(&s.zkq(&["auth", "client", "add", "a1"]), 2, "--scope");
    check(&s.zkq(&["auth", "client", "add", "not valid", "--scope", "admin"]), 2, "invalid client id");
    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "admin", "--tenant", "nobody"]), 11, "there is no tenant \"nobody\"");

    let out = check(
        &s.zkq(&["auth", "client", "add", "a1", "--scope", "audit:read", "--scope", "budget:read", "--tenant", "acme", "--format", "json"]),
        0,
        "shown once and not stored",
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let secret = v["client_secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("zkqcs_") && secret.len() == 49, "{secret}");
    assert_eq!(v["scopes"], serde_json::json!(["audit:read", "budget:read"]));
    assert_eq!(v["tenant"], "acme");
    let text = check(&s.zkq(&["auth", "client", "add", "a2", "--scope", "costs:read"]), 0, "not stored");
    assert!(text.contains("client_secret: zkqcs_"), "{text}");
    check(&s.zkq(&["auth", "client", "add", "a1", "--scope", "admin"]), 2, "already exists");

    let stored = psql(&format!("select t::text from {}.oauth_clients t", s.0)).join("\n");
    assert!(!stored.contains(&secret), "only the digest is stored");
    let list = check(&s.zkq(&["auth", "client", "list", "--format", "json"]), 0, "");
    assert!(!list.contains("zkqcs_"), "list never shows secrets");
    let v: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!((v[0]["client_id"].as_str(), v[1]["client_id"].as_str()), (Some("a1"), Some("a2")));
    assert!(v[0]["revoked_at"].is_null());
    assert!(v[0]["created_by"].as_str().is_some_and(|c| c.starts_with("zkq auth client add")));

    check(&s.zkq(&["auth", "client", "revoke", "a1"]), 0, "revoked");
    check(&s.zkq(&["auth", "client", "revoke", "a1"]), 11, "there is no client \"a1\"");
    check(&s.zkq(&["auth", "client", "revoke", "ghost"]), 11, "there is no client \"ghost\"");
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["auth", "client", "list", "--format", "json"]), 0, "")).expect("JSON");
    assert!(v[0]["revoked_at"].is_string());
    let text = check(&s.zkq(&["auth", "client", "list"]), 0, "");
    assert!(text.starts_with("CLIENT") && text.contains("audit:read budget:read") && text.contains("acme"), "{text}");
}

#[test]
fn the_access_log_is_listed_newest_first_and_filtered() {
    let s = Schema::new();
    check(&s.zkq(&["audit", "access-log", "--format", "json"]), 0, "");
    psql(&format!(
        "insert into {0}.access_events (at, client_id, operator, scopes, method, route, path, status, outcome, duration_ms)
         values ('2026-01-01T00:00:00Z', 'c1', null, 'audit:read', 'GET', '/v1/x', '/v1/x', 200, 'ok', 1.5),
                ('2026-01-02T00:00:00Z', null, 'alice', 'admin', 'GET', '/admin/budgets', '/admin/budgets', 200, 'ok', 2),
                ('2026-01-03T00:00:00Z', 'c1', null, '', 'GET', '-', '/nope', 404, 'not_found', 0.2)",
        s.0
    ));
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--format", "json"]), 0, "")).expect("JSON");
    let rows = v.as_array().expect("array");
    assert_eq!(rows.len(), 3);
    assert_eq!((rows[0]["path"].as_str(), rows[0]["outcome"].as_str()), (Some("/nope"), Some("not_found")));
    let v: serde_json::Value =
        serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--client", "c1", "--since", "2026-01-02T00:00:00Z", "--format", "json"]), 0, ""))
            .expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["route"], "-");
    let v: serde_json::Value = serde_json::from_str(&check(&s.zkq(&["audit", "access-log", "--limit", "1", "--format", "json"]), 0, "")).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    let text = check(&s.zkq(&["audit", "access-log"]), 0, "");
    assert!(text.contains("operator:alice") && text.contains("/admin/budgets"), "{text}");
    check(&s.zkq(&["audit", "access-log", "--limit", "0"]), 2, "limit must be");
    check(&s.zkq(&["audit", "access-log", "--since", "yesterday"]), 2, "RFC 3339");
}

/// One HTTP/1.1 POST of a form with `Connection: close`: the whole answer.
fn http_post_form(addr: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn serve_issues_tokens_with_its_own_key_and_logs_the_peer() {
    let s = Schema::new();
    let keys = tempfile::tempdir().expect("tmp");
    let key_dir = keys.path().join("keys");
    let out = check(&s.zkq(&["auth", "client", "add", "svc", "--scope", "admin", "--format", "json"]), 0, "");
    let secret = serde_json::from_str::<serde_json::Value>(&out).expect("JSON")["client_secret"].as_str().expect("secret").to_owned();
    let mut child = Command::new(ZKQ)
        .args(["serve", "--listen", "127.0.0.1:0", "--token-ttl-secs", "60", "--token-audience", "test-aud"])
        .arg("--key-dir")
        .arg(&key_dir)
        .env("ZKQ_PG_URL", s.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkq serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the first line");
    let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).map(str::to_owned);
    let result = std::panic::catch_unwind(|| {
        let addr = addr.unwrap_or_else(|| panic!("no address in {line:?}"));
        let answer = http_post_form(&addr, "/oauth/token", &format!("grant_type=client_credentials&client_id=svc&client_secret={secret}"));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("\"expires_in\":60") && answer.contains("cache-control: no-store"), "{answer}");
        let refused = http_post_form(&addr, "/oauth/token", "grant_type=client_credentials&client_id=svc&client_secret=zkqcs_nope");
        assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
        addr
    });
    // SAFETY: kill(2) on the child we started; no memory is involved.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let addr = match result {
        Ok(a) => a,
        Err(p) => {
            eprintln!("zkq serve said: {line}{rest}");
            std::panic::resume_unwind(p);
        }
    };
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
