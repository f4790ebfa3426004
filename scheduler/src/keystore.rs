//! The content-addressed zkey directory.
//!
//! Every proving key lives as `<dir>/<sha256>.zkey`, named by the sha256 of its bytes (the
//! circuit id in PostgreSQL). A key is copied in atomically: written to a temporary file in the
//! same directory, synced, validated and hashed with [`zkq_engine::zkey::info`], then renamed
//! to its final name, so a reader never sees a partial key and a name always matches its
//! content. Adding the same key twice is harmless.
//!
//! All methods do blocking file I/O: call them from a blocking thread
//! (`tokio::task::spawn_blocking`) when on the async runtime.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use zkq_engine::zkey::{self, ZkeyInfo};

use crate::SchedulerError;

/// A content-addressed directory of zkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    dir: PathBuf,
}

/// A key in the store, as [`KeyStore::add`] returns it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// sha256 of the zkey, lowercase hex: the circuit id.
    pub id: String,
    /// Where it lives: `<dir>/<id>.zkey`.
    pub path: PathBuf,
    /// The header facts, for the circuit record
    /// ([`crate::store::NewCircuit::from_zkey_info`]).
    pub info: ZkeyInfo,
    /// `false` when the store already held this key (nothing was written).
    pub added: bool,
}

fn keystore_err(path: &Path, what: impl Into<String>) -> SchedulerError {
    SchedulerError::KeyStore { path: path.display().to_string(), what: what.into() }
}

/// A lowercase hex sha256 (the only ids the store accepts: no path can be smuggled in).
fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Temporary files are dot-files ending in `.tmp`: never taken for keys.
fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!(".incoming-{}-{nanos}-{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl KeyStore {
    /// A key store in `dir`, which need not exist yet (see [`KeyStore::open`]).
    pub fn new(dir: impl Into<PathBuf>) -> KeyStore {
        KeyStore { dir: dir.into() }
    }

    /// A key store in `dir`, creating the directory (and its parents) if missing.
    pub fn open(dir: impl Into<PathBuf>) -> Result<KeyStore, SchedulerError> {
        let store = KeyStore::new(dir);
        fs::create_dir_all(&store.dir).map_err(|e| keystore_err(&store.dir, format!("cannot create the directory: {e}")))?;
        Ok(store)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Copies the zkey at `src` into the store, after checking it is a valid Groth16 BN254 zkey
    /// (header, sections, coefficients). Returns its id, stored path and header facts. A key
    /// already in the store is not written again (`added: false`). Creates the directory if
    /// missing.
    pub fn add(&self, src: &Path) -> Result<StoredKey, SchedulerError> {
        fs::create_dir_all(&self.dir).map_err(|e| keystore_err(&self.dir, format!("cannot create the directory: {e}")))?;
        let tmp = self.dir.join(temp_name());
        let result = self.add_via(src, &tmp);
        if result.is_err() || tmp.exists() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn add_via(&self, src: &Path, tmp: &Path) -> Result<StoredKey, SchedulerError> {
        let mut input = File::open(src).map_err(|e| keystore_err(src, format!("cannot open the zkey: {e}")))?;
        let mut out = OpenOptions::new().write(true).create_new(true).open(tmp).map_err(|e| keystore_err(tmp, format!("cannot create a temporary file: {e}")))?;
        io::copy(&mut input, &mut out).map_err(|e| keystore_err(src, format!("cannot copy the zkey into {}: {e}", self.dir.display())))?;
        out.sync_all().map_err(|e| keystore_err(tmp, format!("cannot sync: {e}")))?;
        drop(out);

        // Validate and hash the copy, not the source: the stored bytes are what the id names.
        let info = zkey::info(tmp).map_err(|e| {
            let msg = e.to_string();
            let tmp_name = tmp.display().to_string();
            let msg = msg.strip_prefix(&format!("{tmp_name}: ")).unwrap_or(&msg).replace(&tmp_name, &src.display().to_string());
            keystore_err(src, format!("not a valid zkey: {msg}"))
        })?;
        let id = info.sha256.to_ascii_lowercase();
        let path = self.dir.join(format!("{id}.zkey"));
        let present = fs::metadata(&path).map(|m| m.is_file() && m.len() == info.file_size).unwrap_or(false);
        if present {
            return Ok(StoredKey { id, path, info, added: false });
        }
        fs::rename(tmp, &path).map_err(|e| keystore_err(&path, format!("cannot move the zkey into place: {e}")))?;
        // Make the rename durable too.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(StoredKey { id, path, info, added: true })
    }

    /// Where the key with this id lives (whether or not it is there). Refuses anything but a
    /// lowercase hex sha256.
    pub fn path(&self, id: &str) -> Result<PathBuf, SchedulerError> {
        if !valid_id(id) {
            return Err(keystore_err(&self.dir, format!("{id:?} is not a key id (a lowercase hex sha256)")));
        }
        Ok(self.dir.join(format!("{id}.zkey")))
    }

    /// Whether the store holds the key with this id.
    pub fn contains(&self, id: &str) -> bool {
        self.path(id).map(|p| p.is_file()).unwrap_or(false)
    }

    /// The ids of every key in the store, sorted.
    pub fn ids(&self) -> Result<Vec<String>, SchedulerError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(keystore_err(&self.dir, format!("cannot list the directory: {e}"))),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| keystore_err(&self.dir, format!("cannot list the directory: {e}")))?;
            let name = entry.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".zkey")).filter(|id| valid_id(id)) {
                ids.push(id.to_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkq_engine::fixtures;

    #[test]
    fn adds_a_zkey_under_its_sha256_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = KeyStore::new(dir.path().join("keys"));
        let src = fixtures::MULTI_PUBLIC.zkey();
        let first = ks.add(&src).expect("adds");
        assert!(first.added);
        assert_eq!(first.path, ks.path(&first.id).expect("valid id"));
        assert_eq!(fs::read(&first.path).expect("stored"), fs::read(&src).expect("source"));
        assert_eq!(first.info.n_public, 7);
        assert!(ks.contains(&first.id));
        let again = ks.add(&src).expect("adds again");
        assert!(!again.added);
        assert_eq!(again.id, first.id);
        assert_eq!(ks.ids().expect("lists"), vec![first.id.clone()]);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(ks.dir()).expect("dir").count(), 1);
    }

    #[test]
    fn refuses_what_is_not_a_zkey_and_names_the_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = KeyStore::new(dir.path());
        let bogus = dir.path().join("bogus.zkey");
        fs::write(&bogus, b"not a zkey at all").expect("write");
        let err = ks.add(&bogus).expect_err("refused").to_string();
        assert!(err.contains("bogus.zkey") && err.contains("not a valid zkey"), "{err}");
        assert!(!err.contains(".incoming-"), "{err}");
        let missing = ks.add(&dir.path().join("missing.zkey")).expect_err("missing").to_string();
        assert!(missing.contains("missing.zkey"), "{missing}");
        assert_eq!(ks.ids().expect("lists"), Vec::<String>::new());
        assert_eq!(fs::read_dir(ks.dir()).expect("dir").count(), 1, "only bogus.zkey: no temp files left");
    }

    #[test]
    fn ids_cannot_escape_the_directory() {
        let ks = KeyStore::new("/tmp/keys");
        assert!(ks.path("../../etc/passwd").is_err());
        assert!(ks.path(&"A".repeat(64)).is_err());
        assert!(!ks.contains("x"));
        assert!(ks.path(&"a".repeat(64)).is_ok());
    }
}
