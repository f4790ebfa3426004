//! `zkq finops …`: forwards to the `zkq-finops` binary, git-style.
//!
//! FinOps reports use polars, which the worker binary must not link, so they live in their
//! own binary. It is looked up next to the running `zkq` first, then on `PATH`. Its exit
//! code becomes `zkq`'s; when it is missing, `zkq` says so on one line and exits 9.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::exit::ExitCode;

/// The companion binary's file name.
const TOOL: &str = "zkq-finops";

/// Where `zkq-finops` is: next to the current executable, else the first on `PATH`.
fn locate() -> Option<PathBuf> {
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(TOOL)));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(TOOL)).find(|p| p.is_file())
}

/// Runs `zkq-finops args…` with this process's stdio and exits with its code.
pub(super) fn forward(args: &[OsString]) -> anyhow::Result<ExitCode> {
    let Some(tool) = locate() else {
        eprintln!("zkq: error: `zkq finops` needs the {TOOL} binary, which is neither next to zkq nor on PATH (build it with `cargo build -p zkq-finops`, or install it beside zkq)");
        return Ok(ExitCode::MissingTool);
    };
    let status = std::process::Command::new(&tool).args(args).status().map_err(|e| anyhow::anyhow!("cannot run {}: {e}", tool.display()))?;
    // A signal-killed child has no code: report it like a failed tool (3, as zkq-finops' own
    // catch-all).
    std::process::exit(status.code().unwrap_or(3));
}
