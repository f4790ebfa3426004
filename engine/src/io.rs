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

/// Writes `bytes` to `path` atomically: a new temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory. A crash or error never leaves a half-written
/// `path`, and once this returns the new contents survive a power loss.
///
/// The temporary file has a random name (`.<name>.<16 hex>.zkq-tmp`) and is created with
/// `O_CREAT | O_EXCL` (`create_new`), which never opens an existing file and never follows a
/// symlink: someone who can write to the directory cannot redirect the write by planting a
/// file or link at the temporary name. New files get the default mode (0666 less the umask);
/// [`write_private`] writes 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    write_atomic_with(path, bytes, 0o666, random_suffix)
}

/// [`write_atomic`] for private data (witnesses): the file is created 0600 (owner read/write
/// only) from the start, so there is no moment at which others may read it.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    write_atomic_with(path, bytes, 0o600, random_suffix)
}

/// Creates `dir` for private data (the witness store): its parents as usual, `dir` itself 0700
/// (owner only). A directory that already exists is left as it is (its files are still written
/// 0600 by [`write_private`]).
pub fn create_private_dir(dir: &Path) -> Result<(), EngineError> {
    let io_err = |action, source| EngineError::Io { path: dir.to_owned(), action, source };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_err("create directory", e))?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_err("create directory", e)),
    }
}

/// 16 hex digits from the OS CSPRNG.
fn random_suffix() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(format!("OS randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// How many random names are tried before giving up (a collision with an existing file is
/// astronomically unlikely unless someone plants files; each attempt is a fresh name).
const TEMP_ATTEMPTS: usize = 16;

fn write_atomic_with(path: &Path, bytes: &[u8], mode: u32, mut suffix: impl FnMut() -> std::io::Result<String>) -> Result<(), EngineError> {
    let io_err = |action, source| EngineError::Io { path: path.to_owned(), action, source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.{}.zkq-tmp", suffix().map_err(|e| io_err("create", e))?));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        match options.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < TEMP_ATTEMPTS => attempt += 1,
            Err(e) => return Err(io_err("create", e)),
        }
    };
    let result = (|| {
        file.write_all(bytes).map_err(|e| io_err("write", e))?;
        file.sync_all().map_err(|e| io_err("sync", e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| io_err("rename", e))?;
        sync_dir(&dir).map_err(|e| io_err("sync directory", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a rename in `dir` durable (fsync of the directory; a no-op where directories cannot
/// be opened, i.e. not on Unix).
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

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("proof.json");
        write_atomic(&f, b"one").expect("write");
        write_atomic(&f, b"two").expect("rewrite");
        assert_eq!(std::fs::read(&f).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "no temporary file left");
        let e = write_atomic(&dir.path().join("missing/x.json"), b"x").expect_err("no such directory");
        assert!(matches!(e, EngineError::Io { action: "create", .. }), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_never_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("victim");
        let target = dir.path().join("out.json");
        // The temporary names earlier versions used (`.<name>.zkq-tmp-<pid>`) and the name the
        // first attempt will take here: links to the victim at all of them.
        let planted = [
            dir.path().join(format!(".out.json.zkq-tmp-{}", std::process::id())),
            dir.path().join(".out.json.0000000000000000.zkq-tmp"),
        ];
        for link in &planted {
            std::os::unix::fs::symlink(&victim, link).expect("plant");
        }
        write_atomic(&target, b"first").expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious", "the write followed a planted symlink");
        let mut names = ["0000000000000000".to_owned(), "1111111111111111".to_owned()].into_iter();
        write_atomic_with(&target, b"output", 0o666, || Ok(names.next().expect("two names"))).expect("write past the planted link");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious", "the write followed a planted symlink");
        assert_eq!(std::fs::read(&target).expect("target"), b"output");
        for link in &planted {
            assert!(std::fs::symlink_metadata(link).expect("still there").file_type().is_symlink(), "{} was replaced", link.display());
        }
        // Every name taken: an error naming the file, never a write through a link.
        let e = write_atomic_with(&target, b"x", 0o666, || Ok("0000000000000000".to_owned())).expect_err("only taken names");
        assert!(e.to_string().contains("out.json"), "{e}");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        // Random names differ.
        assert_ne!(random_suffix().expect("random"), random_suffix().expect("random"));
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_in_a_0700_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("share/zkq/witnesses");
        create_private_dir(&store).expect("create");
        create_private_dir(&store).expect("exists already: fine");
        assert_eq!(mode(&store), 0o700);
        let w = store.join("ab.wtns");
        write_private(&w, b"secret witness").expect("write");
        assert_eq!(mode(&w), 0o600);
        write_private(&w, b"again").expect("rewrite");
        assert_eq!(mode(&w), 0o600);
        // Ordinary outputs keep the usual mode (0666 less the umask), never wider.
        let out = dir.path().join("public.json");
        write_atomic(&out, b"[]").expect("write");
        assert_eq!(mode(&out) & 0o600, 0o600);
        assert_eq!(mode(&out) & 0o111, 0, "not executable");
        // A file in the way is an error naming it.
        let file = dir.path().join("plain");
        std::fs::write(&file, b"").expect("file");
        assert!(create_private_dir(&file).is_err());
    }
}
