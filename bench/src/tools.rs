//! Finding the external programs the bench binaries run.

use std::path::PathBuf;

use anyhow::{bail, ensure, Result};
use zkq_engine::fixtures::repo_root;

/// `path`, canonicalised when possible (for readable messages).
pub fn pretty(path: PathBuf) -> PathBuf {
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// The `zkq` binary: `explicit` (`--zkq-bin`), else `$CARGO_TARGET_DIR/release/zkq`, else
/// `<repo>/target/release/zkq`.
pub fn resolve_zkq(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        ensure!(p.is_file(), "--zkq-bin {}: no such file", p.display());
        return Ok(p);
    }
    let exe = format!("zkq{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("release").join(&exe));
    }
    candidates.push(pretty(repo_root()).join("target/release").join(&exe));
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "the zkq binary was not found (tried {}); build it with `cargo build --release -p zkq-cli` \
         or pass --zkq-bin PATH",
        tried.join(", ")
    )
}
