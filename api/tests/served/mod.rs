//! Support for the tests that run `zkq serve` and the commands around it as a user runs them:
//! a private PostgreSQL schema (dropped afterwards), the `zkq` binary on it, a running
//! `zkq serve` on a free port (stopped with SIGTERM, killed on drop), and plain HTTP/1.1
//! exchanges with it.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// The `zkq` binary cargo built for these tests.
pub const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");
const DEFAULT_PG: &str = "host=127.0.0.1 port=5432 user=zkq password=zkq dbname=zkq_test";

/// The test database (`ZKQ_TEST_PG` overrides).
pub fn pg_base() -> String {
    std::env::var("ZKQ_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_owned())
}

/// Runs `sql` (simple protocol, several statements allowed); the rows' first columns as text.
pub fn psql(sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&pg_base(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test database ({}): {e}; run scripts/services.sh", pg_base()));
        tokio::spawn(conn);
        client
            .simple_query(sql)
            .await
            .expect(sql)
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or_default().to_owned()),
                _ => None,
            })
            .collect()
    })
}

/// A private schema, dropped on drop.
pub struct Schema(pub String);

impl Schema {
    /// Creates `zkqs_<pid>_<random>`.
    pub fn new() -> Schema {
        let name = format!("zkqs_{}_{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        psql(&format!("create schema {name}"));
        Schema(name)
    }

    /// Its connection string.
    pub fn url(&self) -> String {
        format!("{} options=-csearch_path={}", pg_base(), self.0)
    }

    /// `zkq <args>` on this schema.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(ZKQ);
        c.args(args).env("ZKQ_PG_URL", self.url());
        c
    }

    /// Runs `zkq <args>` on this schema, `stdin` written to it.
    pub fn zkq(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run zkq");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write stdin");
        }
        drop(input);
        child.wait_with_output().expect("wait for zkq")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        psql(&format!("drop schema if exists {} cascade", self.0));
    }
}

/// Asserts the exit code and that stderr says `stderr_has`; stdout.
pub fn check(o: &Output, code: i32, stderr_has: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.contains(stderr_has), "{stderr_has:?} not in {err:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A running `zkq serve` (killed on drop unless [`Serve::stop`]ped).
pub struct Serve {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    stderr: Option<BufReader<ChildStderr>>,
    /// What it wrote to stderr up to and including the line naming its address.
    pub said: String,
}

impl Serve {
    /// Starts `command` (a `zkq serve --listen 127.0.0.1:0 …` with its environment set) and
    /// reads its stderr up to the first line naming an address (log lines may come first).
    pub fn start(mut command: Command) -> Serve {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("run zkq serve");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut said = String::new();
        let addr = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("zkq serve's stderr") == 0 {
                let _ = child.kill();
                panic!("zkq serve ended before naming its address: {said}");
            }
            said.push_str(&line);
            if let Some(a) = line.split("http://").nth(1).and_then(|r| r.split('/').next()) {
                break a.to_owned();
            }
        };
        Serve { child, addr, stderr: Some(stderr), said }
    }

    /// Keeps draining its stderr in a thread (a long run must never block on a full pipe).
    pub fn drain_stderr(&mut self) {
        if let Some(mut stderr) = self.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = stderr.read_to_string(&mut sink);
            });
        }
    }

    /// SIGTERM, then waits: the exit status and the rest of its stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        // SAFETY: kill(2) on the child we started; no memory is involved.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let status = self.child.wait().expect("wait for zkq serve");
        let mut rest = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = stderr.read_to_string(&mut rest);
        }
        (status, rest)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange with `Connection: close`: the whole answer (status line, headers,
/// body as sent).
pub fn exchange(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    answer
}

/// The status code of an answer.
pub fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The body of an answer, de-chunked when it was sent chunked.
pub fn body(answer: &str) -> String {
    let Some((head, body)) = answer.split_once("\r\n\r\n") else { return String::new() };
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n.min(after.len())]);
        rest = after.get(n + 2..).unwrap_or("");
    }
    out
}
