//! The WebGPU backend through the `zkq` binary: `zkq backends` lists the adapter; proofs made
//! with `zkq prove --backend wgpu` verify with snarkjs (and a tampered public input fails);
//! `--fallback cpu` falls back when the wgpu backend cannot run, and without it the error is a
//! typed one with exit code 5.
//!
//! CI runs these on Mesa lavapipe (`scripts/test.sh` installs it). Without an adapter they
//! fail, unless `ZKQ_WGPU_TESTS=skip` is set, which skips them with a message.

use std::path::Path;
use std::process::Command;

use zkq_engine::fixtures::ALL;

mod process;

use process::{code, run, snarkjs, stderr, zkq};

/// `zkq backends --format json`, and whether wgpu is available on this machine.
fn wgpu_row() -> Option<serde_json::Value> {
    let o = zkq(&[&"backends", &"--format", &"json"]);
    assert_eq!(code(&o), 0, "zkq backends failed: {}", stderr(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let row = rows.as_array().expect("array").iter().find(|r| r["backend"] == "wgpu").expect("a wgpu row").clone();
    if row["available"] == true {
        return Some(row);
    }
    if std::env::var("ZKQ_WGPU_TESTS").as_deref() == Ok("skip") {
        eprintln!("wgpu CLI test skipped (ZKQ_WGPU_TESTS=skip): {}", row["reason"]);
        return None;
    }
    panic!(
        "the wgpu backend is unavailable: {}. Install a Vulkan driver (Debian: apt-get install mesa-vulkan-drivers \
         libvulkan1) or set ZKQ_WGPU_TESTS=skip",
        row["reason"]
    );
}

#[test]
fn backends_lists_the_adapter_with_features_and_limits() {
    let Some(row) = wgpu_row() else { return };
    let adapters = row["adapters"].as_array().expect("adapters listed");
    assert!(!adapters.is_empty(), "an available wgpu backend must list its adapter");
    let a = &adapters[0];
    assert!(a["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(a["type"].is_string() && a["api"].is_string());
    assert!(a["features"].is_array());
    assert!(a["limits"]["max_storage_buffer_binding_size"].as_u64().is_some_and(|v| v > 0));
    let text = zkq(&[&"backends"]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("wgpu adapters:") && out.contains("max_storage_buffer_binding_size"), "{out}");
}

fn snarkjs_verify(vk: &Path, public: &Path, proof: &Path) -> bool {
    let o = run(Command::new(snarkjs()).args(["groth16", "verify"]).arg(vk).arg(public).arg(proof));
    o.status.success() && String::from_utf8_lossy(&o.stdout).contains("OK!")
}

#[test]
fn wgpu_proofs_verify_with_snarkjs() {
    if wgpu_row().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ALL {
        let (proof, public) = (dir.path().join(format!("{}.proof.json", f.name)), dir.path().join(format!("{}.public.json", f.name)));
        let o = zkq(&[&"prove", &"--backend", &"wgpu", &f.zkey(), &f.wtns(), &proof, &public]);
        assert_eq!(code(&o), 0, "{}: zkq prove --backend wgpu failed: {}", f.name, stderr(&o));
        assert!(snarkjs_verify(&f.vk_json(), &public, &proof), "{}: snarkjs rejects the wgpu proof", f.name);
        let mut signals: Vec<String> = serde_json::from_str(&std::fs::read_to_string(&public).expect("read")).expect("json");
        let last = signals.len() - 1;
        signals[last] = if signals[last] == "1" { "2".into() } else { "1".into() };
        let bad = dir.path().join(format!("{}.bad.json", f.name));
        std::fs::write(&bad, serde_json::to_string(&signals).expect("json")).expect("write");
        assert!(!snarkjs_verify(&f.vk_json(), &bad, &proof), "{}: snarkjs accepts a tampered public input", f.name);
    }
}

#[test]
fn unusable_wgpu_is_exit_5_or_a_fallback_to_cpu() {
    // An adapter that cannot exist: point the Vulkan loader at no driver at all.
    let dir = tempfile::tempdir().expect("tempdir");
    let f = ALL[0];
    let (proof, public) = (dir.path().join("p.json"), dir.path().join("pub.json"));
    let no_driver = |cmd: &mut Command| {
        cmd.env("VK_ICD_FILENAMES", dir.path().join("none.json")).env("VK_DRIVER_FILES", dir.path().join("none.json"));
    };
    let mut cmd = Command::new(process::ZKQ);
    cmd.args(["prove", "--backend", "wgpu"]).arg(f.zkey()).arg(f.wtns()).arg(&proof).arg(&public);
    no_driver(&mut cmd);
    let o = run(&mut cmd);
    assert_eq!(code(&o), 5, "no adapter must be exit code 5: {}", stderr(&o));
    assert!(stderr(&o).contains("wgpu") && stderr(&o).contains("unavailable"), "{}", stderr(&o));
    assert!(!proof.exists() && !public.exists(), "nothing may be written");

    let mut cmd = Command::new(process::ZKQ);
    cmd.args(["prove", "--backend", "wgpu", "--fallback", "cpu"]).arg(f.zkey()).arg(f.wtns()).arg(&proof).arg(&public);
    no_driver(&mut cmd);
    let o = run(&mut cmd);
    assert_eq!(code(&o), 0, "--fallback cpu must prove on the CPU: {}", stderr(&o));
    assert!(stderr(&o).contains("falling back to `cpu`"), "the fallback must be announced: {}", stderr(&o));
    assert_eq!(code(&zkq(&[&"verify", &f.vk_json(), &public, &proof])), 0);
}
