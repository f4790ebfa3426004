//! `zkq finops …` forwards to the `zkq-finops` binary (next to `zkq`, else on PATH) with the
//! arguments unchanged and exits with its code; without it, one line and exit code 9.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// The tests write executables and then run them. A child forked by one test thread while the
/// other holds a just-written file open keeps that descriptor until it execs, and executing the
/// file then fails with ETXTBSY ("Text file busy", seen in CI): the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A copy of `zkq` alone in a fresh directory, so the lookup beside it is under the test's control.
fn lone_zkq(dir: &Path) -> std::path::PathBuf {
    let zkq = dir.join("zkq");
    std::fs::copy(env!("CARGO_BIN_EXE_zkq"), &zkq).expect("copy zkq");
    zkq
}

#[test]
fn forwards_arguments_and_the_exit_code() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let zkq = lone_zkq(dir.path());
    let tool = dir.path().join("zkq-finops");
    let log = dir.path().join("args");
    std::fs::write(&tool, format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 42\n", log.display())).expect("script");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let o = Command::new(&zkq).args(["finops", "report", "--from", "2026-11-16", "--help", "-x"]).env("PATH", "/usr/bin:/bin").output().expect("run");
    assert_eq!(o.status.code(), Some(42));
    assert_eq!(std::fs::read_to_string(&log).expect("args"), "report\n--from\n2026-11-16\n--help\n-x\n");
}

#[test]
fn a_missing_tool_is_one_line_and_exit_code_9() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let zkq = lone_zkq(dir.path());
    let o = Command::new(&zkq).args(["finops", "report"]).env("PATH", dir.path().join("nowhere")).output().expect("run");
    assert_eq!(o.status.code(), Some(9));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("zkq-finops") && err.contains("PATH"), "{err}");
}
