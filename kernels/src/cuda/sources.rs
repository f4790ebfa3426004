//! The CUDA sources, embedded in the binary, and their assembly into one NVRTC translation unit.
//!
//! NVRTC compiles a single source string; rather than registering headers with it, [`translation_unit`]
//! expands `#include "…"` lines itself (each file once, as `#pragma once` would) starting from
//! `cuda/kernels.cu`, so the string NVRTC sees — and the hash the disk cache keys on — is exactly
//! what the embedded files say.

use std::collections::HashSet;

/// Every CUDA source file, by its path under `kernels/cuda/`.
pub const SOURCES: &[(&str, &str)] = &[
    ("common.cuh", include_str!("../../cuda/common.cuh")),
    ("ff/bn254_constants.cuh", include_str!("../../cuda/ff/bn254_constants.cuh")),
    ("ff/field.cuh", include_str!("../../cuda/ff/field.cuh")),
    ("ff/inverse.cuh", include_str!("../../cuda/ff/inverse.cuh")),
    ("ec/xyzz.cuh", include_str!("../../cuda/ec/xyzz.cuh")),
    ("ec/affine.cuh", include_str!("../../cuda/ec/affine.cuh")),
    ("msm/pippenger.cuh", include_str!("../../cuda/msm/pippenger.cuh")),
    ("ntt/ntt.cuh", include_str!("../../cuda/ntt/ntt.cuh")),
    ("groth16/glue.cuh", include_str!("../../cuda/groth16/glue.cuh")),
    ("kernels.cu", include_str!("../../cuda/kernels.cu")),
];

/// The kernel entry points `kernels.cu` defines (what the backend loads).
pub const KERNELS: &[&str] = &[
    "zkq_msm_to_plain",
    "zkq_msm_count",
    "zkq_msm_scatter",
    "zkq_scan",
    "zkq_msm_chunk_count",
    "zkq_msm_accumulate_chunks",
    "zkq_msm_bucket_sum",
    "zkq_msm_reduce",
    "zkq_msm_finish",
    "zkq_msm_precompute",
    "zkq_ntt_global_stage",
    "zkq_ntt_tile",
    "zkq_groth16_ab_minus_c",
];

fn source(path: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// Normalises `dir/../x` style paths relative to the `cuda/` root.
fn join(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
    for p in rel.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn expand(path: &str, seen: &mut HashSet<String>, out: &mut String) -> Result<(), String> {
    if !seen.insert(path.to_owned()) {
        return Ok(());
    }
    let text = source(path).ok_or_else(|| format!("CUDA source `{path}` is not embedded"))?;
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    out.push_str(&format!("// ---- {path}\n"));
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "#pragma once" {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("#include \"") {
            let rel = rest.strip_suffix('"').ok_or_else(|| format!("malformed include in {path}: {line}"))?;
            expand(&join(dir, rel), seen, out)?;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(())
}

/// The single source NVRTC compiles: `kernels.cu` with its includes expanded. `defines` are
/// prepended as `#define` lines (e.g. `ZKQ_PORTABLE_CARRY`).
pub fn translation_unit(defines: &[&str]) -> String {
    let mut out = String::new();
    for d in defines {
        out.push_str(&format!("#define {d}\n"));
    }
    let mut seen = HashSet::new();
    // The embedded set is fixed at compile time and a test expands it, so this cannot fail at run time.
    if let Err(e) = expand("kernels.cu", &mut seen, &mut out) {
        out.push_str(&format!("#error {e}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_unit_expands_every_source_once() {
        let tu = translation_unit(&[]);
        assert!(!tu.contains("#error"), "{tu}");
        assert!(!tu.contains("#include \""), "all includes expanded");
        for (path, _) in SOURCES {
            assert_eq!(tu.matches(&format!("// ---- {path}\n")).count(), 1, "{path} appears once");
        }
        for k in KERNELS {
            assert!(tu.contains(&format!("void {k}(")), "kernel {k} defined");
        }
    }

    #[test]
    fn embedded_sources_match_the_files_on_disk() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/cuda");
        let mut on_disk = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).expect("read cuda dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "cuh" || x == "cu") {
                    on_disk.push(p.strip_prefix(root).expect("under root").to_string_lossy().into_owned());
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = SOURCES.iter().map(|(p, _)| (*p).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "every .cu/.cuh file under kernels/cuda is embedded (SOURCES)");
    }
}
