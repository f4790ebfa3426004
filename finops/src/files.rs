//! Output files: the `--out` directory and atomic writes (a new, randomly named temporary file
//! in the same directory — never an existing file or a planted link —, fsync, rename, fsync of
//! the directory), so a failed run leaves no half-written file and a finished one survives a
//! crash.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{FinopsError, Result};

/// Creates `dir` (and parents) if needed and checks it is a writable directory (by creating
/// and removing a file with a fresh random name: `create_new` never follows a planted link).
pub fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| FinopsError::io(format!("cannot create the output directory {}", dir.display()), e))?;
    let not_writable = |e| FinopsError::io(format!("the output directory {} is not writable", dir.display()), e);
    let (probe, _) = create_new_in(dir, ".zkq-finops-probe", "", 0o600).map_err(not_writable)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Writes `bytes` to `path` atomically: a new temporary file with a random name in the same
/// directory, created with `create_new` (`O_CREAT | O_EXCL`: it never opens an existing file
/// and never follows a symlink), fsync, rename over `path`, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |e| FinopsError::io(format!("cannot write {}", path.display()), e);
    let (dir, name) = split(path);
    let (tmp, mut file) = create_new_in(&dir, &format!(".{name}"), ".tmp", 0o666).map_err(failed)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(&dir)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed(e)
    })
}

/// Produces `path` atomically through a writer that opens the file itself (the PNG encoder):
/// `produce` writes the given path, inside a fresh directory of this process's own (random
/// name, 0700, `create_dir` never reuses an existing one, so nobody can plant a link in it);
/// the result is then renamed to `path` and the directory removed.
pub fn produce_atomic(path: &Path, produce: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let failed = |e| FinopsError::io(format!("cannot write {}", path.display()), e);
    let (dir, name) = split(path);
    let private = private_dir_in(&dir, &format!(".{name}")).map_err(failed)?;
    let tmp = private.join(&name);
    let result = produce(&tmp).and_then(|()| {
        (|| {
            File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, path)?;
            sync_dir(&dir)
        })()
        .map_err(failed)
    });
    let _ = std::fs::remove_dir_all(&private);
    result
}

/// The directory (`.` for a bare name) and file name of `path`.
fn split(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    (dir, path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

/// 16 hex digits from the OS CSPRNG.
fn random_suffix() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(format!("OS randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How many random names are tried before giving up.
const ATTEMPTS: usize = 16;

/// A new file `<dir>/<prefix>.<random><suffix>` created with `create_new` and `mode`.
fn create_new_in(dir: &Path, prefix: &str, suffix: &str, mode: u32) -> std::io::Result<(PathBuf, File)> {
    create_new_named(dir, mode, || Ok(format!("{prefix}.{}{suffix}", random_suffix()?)))
}

fn create_new_named(dir: &Path, mode: u32, mut name: impl FnMut() -> std::io::Result<String>) -> std::io::Result<(PathBuf, File)> {
    let mut attempt = 0;
    loop {
        let path = dir.join(name()?);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        match options.open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// A new directory `<dir>/<prefix>.<random>.tmp`, 0700.
fn private_dir_in(dir: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    let mut attempt = 0;
    loop {
        let path = dir.join(format!("{prefix}.{}.tmp", random_suffix()?));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Makes a rename in `dir` durable (fsync of the directory, on Unix).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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

    #[cfg(unix)]
    #[test]
    fn planted_symlinks_are_never_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("victim");
        // The names earlier versions used for the temporary file and the probe.
        let pid = std::process::id();
        for name in [format!(".report.csv.tmp-{pid}"), format!(".report.tmp-{pid}.png"), format!(".zkq-finops-probe-{pid}")] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).expect("plant");
        }
        ensure_dir(dir.path()).expect("writable");
        let f = dir.path().join("report.csv");
        write_atomic(&f, b"rows").expect("write");
        let png = |p: &Path| std::fs::write(p, b"png").map_err(|e| FinopsError::io("png", e));
        produce_atomic(&dir.path().join("report.png"), png).expect("produce");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious", "a write followed a planted symlink");
        assert_eq!(std::fs::read(&f).expect("read"), b"rows");
        assert_eq!(std::fs::read(dir.path().join("report.png")).expect("read"), b"png");
        // A name already taken (here by a link) is skipped, never opened.
        let link = dir.path().join("taken");
        std::os::unix::fs::symlink(&victim, &link).expect("plant");
        let mut names = ["taken".to_owned(), "free".to_owned()].into_iter();
        let (path, _) = create_new_named(dir.path(), 0o600, || Ok(names.next().expect("two names"))).expect("second name");
        assert_eq!(path, dir.path().join("free"));
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        // A failed producer leaves nothing behind: 3 links, victim, report.csv, report.png, free.
        let e = produce_atomic(&dir.path().join("broken.png"), |_| Err(FinopsError::BadInput("no".into()))).expect_err("fails");
        assert!(e.to_string().contains("no"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 8, "temporary files or directories left behind");
    }
}
