//! Run-time compilation of the CUDA sources with NVRTC, and the on-disk cache of the results.
//!
//! The sources are compiled for a *real* architecture (`-arch=sm_XY`), so NVRTC also runs ptxas
//! and returns a CUBIN: bad inline PTX fails here, not at load time. Results are cached under the
//! cache directory as `<sha256>.cubin`, the hash taken over the translation unit, the
//! architecture, the options and NVRTC's version — a new driver, NVRTC or source never reuses a
//! stale binary. Cache I/O failures only cost a recompile; they are never errors.

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};

use cudarc::nvrtc::{result as nvrtc, sys as nvrtc_sys};
use sha2::{Digest, Sha256};

use crate::KernelError;

/// NVRTC options every compile uses (besides `-arch`).
const OPTIONS: &[&str] = &["-std=c++17", "-default-device"];

/// Whether the NVRTC shared library can be loaded (`libnvrtc.so.13` or a candidate cudarc
/// knows). cudarc panics when a missing library is first used, so this is checked first.
pub fn nvrtc_present() -> bool {
    // SAFETY: only tries to dlopen the candidate library names; no symbol is called.
    unsafe { nvrtc_sys::is_culib_present() }
}

/// NVRTC's version, `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32), KernelError> {
    require_nvrtc()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: NVRTC is present (checked above); the two out-pointers are live locals.
    unsafe { nvrtc_sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| unavailable(format!("nvrtcVersion failed: {e:?}")))?;
    Ok((major, minor))
}

fn unavailable(reason: String) -> KernelError {
    KernelError::Unavailable { backend: "cuda".into(), reason }
}

fn require_nvrtc() -> Result<(), KernelError> {
    if nvrtc_present() {
        Ok(())
    } else {
        Err(unavailable(
            "the NVRTC library (libnvrtc.so.13, with libnvrtc-builtins beside it) was not found: put CUDA 13's \
             lib64 directory on LD_LIBRARY_PATH"
                .into(),
        ))
    }
}

/// Compiles `source` for `sm_<arch>` and returns the CUBIN. A compile error returns
/// [`KernelError::Compile`] with NVRTC's log.
pub fn compile_cubin(source: &str, arch: u32) -> Result<Vec<u8>, KernelError> {
    require_nvrtc()?;
    let src = CString::new(source).map_err(|_| KernelError::Compile { log: "the CUDA source contains a NUL byte".into() })?;
    let name = c"zkq.cu";
    let prog = nvrtc::create_program(&src, Some(name)).map_err(|e| KernelError::Compile { log: format!("nvrtcCreateProgram: {e:?}") })?;
    let mut options: Vec<String> = OPTIONS.iter().map(|s| (*s).to_owned()).collect();
    options.push(format!("-arch=sm_{arch}"));
    // SAFETY: `prog` was just created and is destroyed exactly once below.
    let compiled = unsafe { nvrtc::compile_program(prog, &options) };
    // SAFETY: `prog` is live; the log is read before the program is destroyed.
    let log = unsafe { nvrtc::get_program_log(prog) }
        .map(|chars| {
            let bytes: Vec<u8> = chars.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .unwrap_or_default();
    let result = match compiled {
        Err(e) => Err(KernelError::Compile { log: format!("NVRTC ({e:?}) for sm_{arch}:\n{log}") }),
        Ok(()) => cubin(prog),
    };
    // SAFETY: `prog` is live and not used after this.
    let _ = unsafe { nvrtc::destroy_program(prog) };
    result
}

fn cubin(prog: nvrtc_sys::nvrtcProgram) -> Result<Vec<u8>, KernelError> {
    let mut size = 0usize;
    // SAFETY: `prog` compiled successfully; `size` is a live out-pointer.
    unsafe { nvrtc_sys::nvrtcGetCUBINSize(prog, &mut size) }
        .result()
        .map_err(|e| KernelError::Compile { log: format!("nvrtcGetCUBINSize: {e:?}") })?;
    let mut buf = vec![0u8; size];
    // SAFETY: `buf` has exactly the size NVRTC reported for this program's CUBIN.
    unsafe { nvrtc_sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr() as *mut c_char) }
        .result()
        .map_err(|e| KernelError::Compile { log: format!("nvrtcGetCUBIN: {e:?}") })?;
    Ok(buf)
}

/// The cache key of a compile: sha256 over source, architecture, options and NVRTC version.
pub fn cache_key(source: &str, arch: u32, nvrtc: (i32, i32)) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update(format!("\0sm_{arch}\0{}\0nvrtc {}.{}", OPTIONS.join(" "), nvrtc.0, nvrtc.1).as_bytes());
    hex::encode(h.finalize())
}

/// The default cache directory: `$XDG_CACHE_HOME/zkq/cuda` or `~/.cache/zkq/cuda`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|d| d.join("zkq").join("cuda"))
}

/// Whether a compile came from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from the cache directory.
    Hit,
    /// Compiled now and stored (or no cache directory was configured).
    Compiled,
    /// Compiled now; storing it failed (the next start compiles again). Holds why.
    CompiledNotStored(String),
}

/// Loads the CUBIN for (`source`, `arch`) from `cache_dir`, or compiles and stores it.
pub fn cached_cubin(source: &str, arch: u32, cache_dir: Option<&Path>) -> Result<(Vec<u8>, CacheOutcome), KernelError> {
    let key = cache_key(source, arch, nvrtc_version()?);
    let path = cache_dir.map(|d| d.join(format!("{key}.cubin")));
    if let Some(p) = &path {
        if let Ok(bytes) = std::fs::read(p) {
            if !bytes.is_empty() {
                return Ok((bytes, CacheOutcome::Hit));
            }
        }
    }
    let bytes = compile_cubin(source, arch)?;
    let mut outcome = CacheOutcome::Compiled;
    if let (Some(dir), Some(p)) = (cache_dir, &path) {
        // Write to a temporary name and rename, so a concurrent reader never sees half a file.
        let tmp = dir.join(format!(".{key}.{}.tmp", std::process::id()));
        let stored = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&tmp, &bytes)).and_then(|()| std::fs::rename(&tmp, p));
        if let Err(e) = stored {
            let _ = std::fs::remove_file(&tmp);
            outcome = CacheOutcome::CompiledNotStored(format!("cannot write {}: {e}", dir.display()));
        }
    }
    Ok((bytes, outcome))
}
