//! Output files: the `--out` directory and atomic writes (a temporary file in the same
//! directory, then a rename), so a failed run leaves no half-written file.

use std::path::{Path, PathBuf};

use crate::error::{FinopsError, Result};

/// Creates `dir` (and parents) if needed and checks it is a writable directory.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| FinopsError::io(format!("cannot create the output directory {}", dir.display()), e))?;
    let probe = dir.join(format!(".zkq-finops-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| FinopsError::io(format!("the output directory {} is not writable", dir.display()), e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FinopsError::io(format!("cannot write {}", path.display()), e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FinopsError::io(format!("cannot write {}", path.display()), e)
    })
}

/// A temporary sibling of `path` (same directory, so the rename is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_unwritable_dirs_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("a/b");
        ensure_dir(&out).expect("created");
        let f = out.join("report.csv");
        write_atomic(&f, b"one").expect("write");
        write_atomic(&f, b"two").expect("rewrite");
        assert_eq!(std::fs::read(&f).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(&out).expect("list").count(), 1, "no temporary file left");
        let file = out.join("report.csv");
        let e = ensure_dir(&file.join("sub")).expect_err("a file is in the way");
        assert!(e.to_string().contains("cannot create the output directory"), "{e}");
    }
}
