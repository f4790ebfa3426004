//! `zkq operator` and `zkq serve` as a user runs them: the real binary against a private
//! PostgreSQL schema (dropped afterwards). The pages themselves are tested in zkq-server
//! (`server/tests/`); here: passwords from stdin, exit codes, one-line errors, and a server that
//! starts, answers, refuses the logged-out and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");
const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";

fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

fn psql(sql: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot connect to the test database ({}): {e}; run scripts/services.sh",
                    pg_base()
                )
            });
        tokio::spawn(conn);
        client.batch_execute(sql).await.expect(sql);
    });
}

/// A private schema, dropped on drop.
struct Schema(String);

impl Schema {
    fn new() -> Schema {
        let name = format!(
            "zkqc_{}_{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        psql(&format!("create schema {name}"));
        Schema(name)
    }

    fn zkq(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(ZKQ)
            .args(args)
            .env("ZKQ_PG_URL", format!("{} options=-csearch_path={}", pg_base(), self.0))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run zkq");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write stdin");
        }
        drop(input);
        child.wait_with_output().expect("zkq output")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("drop schema if exists {} cascade", self.0));
    }
}

fn check(o: &Output, code: i32, stderr_has: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(stderr_has), "{stderr_has:?} not in {err:?}");
}

#[test]
fn operators_are_added_from_stdin_listed_and_removed() {
    let s = Schema::new();
    check(
        &s.zkq(&["operator", "add", "alice", "--password-stdin"], Some("short\n")),
        2,
        "too short: 5 characters, at least 12",
    );
    check(
        &s.zkq(&["operator", "add", "alice", "--password-stdin"], Some("")),
        2,
        "the password is empty",
    );
    check(
        &s.zkq(&["operator", "add", "alice"], Some("a long enough password\n")),
        2,
        "--password-stdin",
    );
    check(
        &s.zkq(
            &["operator", "add", "no spaces", "--password-stdin"],
            Some("a long enough password\n"),
        ),
        2,
        "invalid operator name",
    );
    let list = s.zkq(&["operator", "list", "--format", "json"], None);
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "[]",
        "nothing was created by the refusals"
    );

    check(
        &s.zkq(
            &["operator", "add", "alice", "--password-stdin"],
            Some("a long enough password\r\n"),
        ),
        0,
        "alice can log in",
    );
    check(
        &s.zkq(
            &["operator", "add", "alice", "--password-stdin"],
            Some("another long password\n"),
        ),
        2,
        "already exists",
    );
    let list = s.zkq(&["operator", "list", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    assert_eq!(v[0]["name"], "alice");
    assert!(v[0]["removed_at"].is_null());
    check(&s.zkq(&["operator", "remove", "alice"], None), 0, "removed");
    check(
        &s.zkq(&["operator", "remove", "alice"], None),
        2,
        "there is no operator \"alice\"",
    );
    let list = s.zkq(&["operator", "list", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    assert!(v[0]["removed_at"].is_string());
}

/// One HTTP/1.1 exchange with `Connection: close`: the status line and the whole answer.
fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn serve_answers_sends_the_logged_out_to_login_and_stops_on_sigterm() {
    let s = Schema::new();
    let mut child = Command::new(ZKQ)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ZKQ_PG_URL", format!("{} options=-csearch_path={}", pg_base(), s.0))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkq serve");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the first line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .map(str::to_owned);
    let result = std::panic::catch_unwind(|| {
        let addr = addr.unwrap_or_else(|| panic!("no address in {line:?}"));
        let health = http_get(&addr, "/healthz");
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.contains("x-content-type-options: nosniff"), "{health}");
        let budgets = http_get(&addr, "/admin/budgets");
        assert!(budgets.starts_with("HTTP/1.1 303"), "{budgets}");
        assert!(budgets.contains("location: /admin/login"), "{budgets}");
    });
    // SAFETY: kill(2) on the child we started; no memory is involved.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    if let Err(p) = result {
        let _ = child.kill();
        eprintln!("zkq serve said: {line}{rest}");
        std::panic::resume_unwind(p);
    }
    assert!(status.success(), "zkq serve exits 0 on SIGTERM: {status:?}\n{rest}");
    assert!(rest.contains("zkq serve: stopped"), "{rest}");
}
