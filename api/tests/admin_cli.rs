//! `zkq operator` and `zkq serve` as a user runs them: the real binary against a private
//! PostgreSQL schema (dropped afterwards). The pages themselves are tested in zkq-server
//! (`server/tests/`); here: passwords from stdin, exit codes, one-line errors, and a server that
//! starts, answers, refuses the logged-out and stops cleanly on SIGTERM.

mod served;

use served::{check, exchange, Schema, Serve};

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

#[test]
fn serve_answers_sends_the_logged_out_to_login_and_stops_on_sigterm() {
    let s = Schema::new();
    let serve = Serve::start(s.command(&["serve", "--listen", "127.0.0.1:0"]));
    let addr = serve.addr.clone();
    let result = std::panic::catch_unwind(|| {
        let health = exchange(&addr, "GET", "/healthz", &[], "");
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.contains("x-content-type-options: nosniff"), "{health}");
        let budgets = exchange(&addr, "GET", "/admin/budgets", &[], "");
        assert!(budgets.starts_with("HTTP/1.1 303"), "{budgets}");
        assert!(budgets.contains("location: /admin/login"), "{budgets}");
    });
    let said = serve.said.clone();
    let (status, rest) = serve.stop();
    if let Err(p) = result {
        eprintln!("zkq serve said: {said}{rest}");
        std::panic::resume_unwind(p);
    }
    assert!(status.success(), "zkq serve exits 0 on SIGTERM: {status:?}\n{rest}");
    assert!(rest.contains("zkq serve: stopped"), "{rest}");
}
