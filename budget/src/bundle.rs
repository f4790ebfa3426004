//! Evidence bundles of receipts (`zkq budget receipts export` / `verify`).
//!
//! A bundle is a directory:
//! - `receipts.jsonl` — one [`crate::verify::ReceiptLine`] per line (`{"receipt_id", "envelope"}`),
//!   each ledger's chain from its first receipt, in (purpose, seq) order;
//! - `keys.json` — the public keys that signed them ([`zkq_audit::KeyRing`] JSON);
//! - `manifest.json` — [`Manifest`]: what was exported, and every file's size and sha256.
//!
//! [`verify_dir`] checks the manifest's digests, then every receipt
//! ([`crate::verify::verify_receipts`]) against the bundle's keys — or against keys the auditor
//! trusts independently, which is the stronger check (a bundle's own keys only prove it is
//! internally consistent).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::BudgetError;
use crate::verify::{verify_receipts, LedgerSummary};

/// Manifest format id.
pub const MANIFEST_FORMAT: &str = "zkq.budget-receipts-bundle/v1";
/// The files of a bundle, besides the manifest.
pub const BUNDLE_FILES: [&str; 2] = ["receipts.jsonl", "keys.json"];

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Name within the bundle.
    pub path: String,
    /// Size, bytes.
    pub bytes: u64,
    /// sha256, hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// Tenant.
    pub tenant: String,
    /// Receipts from (RFC 3339; receipts before it are included as context: totals and the
    /// chain are verified from each ledger's first receipt).
    pub from: Option<String>,
    /// Receipts up to (RFC 3339).
    pub to: Option<String>,
    /// When the bundle was made.
    pub created_at: String,
    /// Receipts in it.
    pub receipts: u64,
    /// Files and digests.
    pub files: Vec<FileEntry>,
}

fn file_err(path: &Path, why: impl std::fmt::Display) -> BudgetError {
    BudgetError::File { path: path.display().to_string(), why: why.to_string() }
}

/// sha256 hex of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes a bundle into `dir` (created; must be empty or absent): the files, then the manifest.
pub fn write_dir(dir: &Path, mut manifest: Manifest, receipts_jsonl: &str, keys_json: &str) -> Result<Manifest, BudgetError> {
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| file_err(dir, e))?.next().is_some() {
        return Err(file_err(dir, "is not empty; export into a new directory"));
    }
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    manifest.files.clear();
    for (name, text) in [("receipts.jsonl", receipts_jsonl), ("keys.json", keys_json)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| file_err(&path, e))?;
        manifest.files.push(FileEntry { path: name.into(), bytes: text.len() as u64, sha256: sha256_hex(text.as_bytes()) });
    }
    let path = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| file_err(&path, e))?;
    std::fs::write(&path, text + "\n").map_err(|e| file_err(&path, e))?;
    Ok(manifest)
}

/// What a verified bundle holds.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    /// The manifest.
    pub manifest: Manifest,
    /// Per ledger.
    pub ledgers: Vec<LedgerSummary>,
    /// Whether the keys came from the auditor (`true`) or from the bundle itself.
    pub trusted_keys: bool,
}

/// Verifies a bundle directory (see the module docs). `trusted` replaces the bundle's
/// `keys.json` for signature checks.
pub fn verify_dir(dir: &Path, trusted: Option<&zkq_audit::KeyRing>) -> Result<BundleReport, BudgetError> {
    let mpath = dir.join("manifest.json");
    let text = std::fs::read_to_string(&mpath).map_err(|e| file_err(&mpath, e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| file_err(&mpath, format!("not a bundle manifest: {e}")))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(file_err(&mpath, format!("format {:?} is not {MANIFEST_FORMAT}", manifest.format)));
    }
    for name in BUNDLE_FILES {
        let entry = manifest.files.iter().find(|f| f.path == name).ok_or_else(|| file_err(&mpath, format!("does not list {name}")))?;
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| file_err(&path, e))?;
        let digest = sha256_hex(&bytes);
        if digest != entry.sha256 || bytes.len() as u64 != entry.bytes {
            return Err(file_err(&path, format!("was changed: sha256 {digest} ({} bytes), manifest says {} ({} bytes)", bytes.len(), entry.sha256, entry.bytes)));
        }
    }
    if let Some(extra) = manifest.files.iter().find(|f| !BUNDLE_FILES.contains(&f.path.as_str())) {
        return Err(file_err(&mpath, format!("lists an unknown file {:?}", extra.path)));
    }
    let kpath = dir.join("keys.json");
    let own = zkq_audit::KeyRing::from_json(&std::fs::read_to_string(&kpath).map_err(|e| file_err(&kpath, e))?).map_err(|e| file_err(&kpath, e))?;
    let ring = trusted.unwrap_or(&own);
    let rpath = dir.join("receipts.jsonl");
    let receipts = std::fs::read_to_string(&rpath).map_err(|e| file_err(&rpath, e))?;
    let ledgers = verify_receipts(&receipts, ring).map_err(|e| file_err(&rpath, e))?;
    let count: u64 = ledgers.iter().map(|l| l.receipts).sum();
    if count != manifest.receipts {
        return Err(file_err(&mpath, format!("says {} receipts; receipts.jsonl holds {count}", manifest.receipts)));
    }
    if ledgers.iter().any(|l| l.tenant != manifest.tenant) {
        return Err(file_err(&rpath, format!("holds receipts of a tenant other than {:?}", manifest.tenant)));
    }
    Ok(BundleReport { manifest, ledgers, trusted_keys: trusted.is_some() })
}
