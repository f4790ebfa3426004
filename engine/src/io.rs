//! File access at the engine's edge: memory-mapped reads and atomic writes.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::EngineError;

/// A read-only view of a whole file, memory-mapped when it is non-empty.
#[derive(Debug)]
pub enum FileBytes {
    /// A mapping of the file.
    Mapped(memmap2::Mmap),
    /// An empty file (an empty mapping is not allowed).
    Empty,
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
        }
    }
}

/// Maps `path` read-only. Large zkeys are read in place rather than copied.
pub fn map_file(path: &Path) -> Result<FileBytes, EngineError> {
    let io_err = |action, source| EngineError::Io { path: path.to_owned(), action, source };
    let file = File::open(path).map_err(|e| io_err("open", e))?;
    let len = file.metadata().map_err(|e| io_err("stat", e))?.len();
    if len == 0 {
        return Ok(FileBytes::Empty);
    }
    // SAFETY: the mapping is read-only and lives no longer than the returned value. If another
    // process truncates or rewrites the file while it is mapped, reads may see changed bytes or
    // fault; zkq treats artifact files as immutable inputs (as snarkjs and rapidsnark do), and
    // every value read from the mapping is validated before use.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_err("mmap", e))?;
    Ok(FileBytes::Mapped(map))
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// A crash or error never leaves a half-written `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let io_err = |action, source| EngineError::Io { path: path.to_owned(), action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.zkq-tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| io_err("create", e))?;
        f.write_all(bytes).map_err(|e| io_err("write", e))?;
        f.sync_all().map_err(|e| io_err("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io_err("rename", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
