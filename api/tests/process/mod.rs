//! Running the `zkq` binary and the pinned snarkjs from CLI tests.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};

use zkq_engine::fixtures::repo_root;

/// The `zkq` binary cargo built for these tests.
pub const ZKQ: &str = env!("CARGO_BIN_EXE_zkq");

/// The pinned snarkjs (`scripts/test.sh` installs it with `npm ci`).
pub fn snarkjs() -> PathBuf {
    let p = repo_root().join("tools/node/node_modules/.bin/snarkjs");
    assert!(p.exists(), "snarkjs is not installed at {}: run `npm ci --prefix tools/node` (scripts/test.sh does)", p.display());
    p
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `zkq` with `args`.
pub fn zkq(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    run(Command::new(ZKQ).args(args.iter().map(|a| a.as_ref())))
}

/// The exit code (−1 if killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
