//! `zkq prove` and `zkq prove-batch`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use zkq_engine::{json as sjson, zkey, BatchOutput, EngineError, PreparedVerifyingKey, Prover, ProvingKey, Witness};

use super::{open_backend, secs};
use crate::cli::{Format, ProveArgs, ProveBatchArgs};
use crate::exit::ExitCode;
use crate::progress;

/// Wall time of each step of a `zkq prove` run.
struct ProveTimings {
    load_zkey: Duration,
    load_witness: Duration,
    prove: zkq_engine::PhaseTimings,
    verify: Duration,
    write: Duration,
    total: Duration,
}

impl ProveTimings {
    fn print(&self, format: Format) {
        let mut steps: Vec<(&str, Duration)> = vec![("load zkey", self.load_zkey), ("load witness", self.load_witness)];
        steps.extend(self.prove.phases());
        steps.extend([("verify", self.verify), ("write", self.write)]);
        match format {
            Format::Text => {
                for (name, d) in &steps {
                    eprintln!("{name:>16}: {:9.3} ms", d.as_secs_f64() * 1e3);
                }
                eprintln!("{:>16}: {:9.3} ms", "total", self.total.as_secs_f64() * 1e3);
            }
            Format::Json => {
                let phases: serde_json::Map<String, serde_json::Value> =
                    steps.iter().map(|(n, d)| (n.to_string(), json!(secs(*d)))).collect();
                println!("{}", json!({"seconds": phases, "total_seconds": secs(self.total)}));
            }
        }
    }
}

/// Verifies every proof of a batch; the first that fails means its witness is unsatisfying.
fn verify_all(pvk: &PreparedVerifyingKey, out: &BatchOutput, witnesses: &[Witness]) -> anyhow::Result<()> {
    for ((proof, public), w) in out.proofs.iter().zip(&out.public_signals).zip(witnesses) {
        if !pvk.verify(public, proof)? {
            return Err(EngineError::Unsatisfied {
                source_name: w.source.clone(),
                detail: "the proof made from it does not verify; nothing was written".into(),
            }
            .into());
        }
    }
    Ok(())
}

fn load_key(path: &Path) -> anyhow::Result<ProvingKey> {
    Ok(zkey::read_proving_key(path)?)
}

pub(super) fn prove(args: ProveArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let backend = open_backend(&args.backend)?;
    let spinner = progress::spinner("loading proving key");
    let t = Instant::now();
    let pk = load_key(&args.zkey)?;
    let load_zkey = t.elapsed();
    let t = Instant::now();
    let witness = Witness::read(&args.witness)?;
    witness.check_shape(pk.n_vars)?;
    let load_witness = t.elapsed();
    spinner.set_message("proving");
    let out = Prover::new(backend).prove_batch(&pk, std::slice::from_ref(&witness))?;
    spinner.set_message("verifying");
    let t = Instant::now();
    verify_all(&PreparedVerifyingKey::new(&pk.vk), &out, std::slice::from_ref(&witness))?;
    let verify = t.elapsed();
    let t = Instant::now();
    sjson::write_json(&args.proof, &sjson::proof_to_json(&out.proofs[0]))?;
    sjson::write_json(&args.public, &sjson::public_to_json(&out.public_signals[0]))?;
    let write = t.elapsed();
    spinner.finish_and_clear();
    if let Some(format) = args.timings {
        ProveTimings { load_zkey, load_witness, prove: out.timings, verify, write, total: start.elapsed() }.print(format);
    }
    Ok(ExitCode::Ok)
}

fn output_paths(out_dir: &Path, witness: &Path) -> (PathBuf, PathBuf) {
    let stem = witness.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "witness".into());
    (out_dir.join(format!("{stem}.proof.json")), out_dir.join(format!("{stem}.public.json")))
}

pub(super) fn prove_batch(args: ProveBatchArgs) -> anyhow::Result<ExitCode> {
    if args.batch_size == 0 {
        return Err(EngineError::format("--batch-size", "must be at least 1").into());
    }
    let mut seen = std::collections::HashSet::new();
    for w in &args.witnesses {
        if !seen.insert(output_paths(&args.out_dir, w).0) {
            return Err(EngineError::format(w.display().to_string(), "two witnesses share this file name; their outputs would collide").into());
        }
    }
    let start = Instant::now();
    let backend = open_backend(&args.backend)?;
    let spinner = progress::spinner("loading proving key");
    let t = Instant::now();
    let pk = load_key(&args.zkey)?;
    let load_zkey = t.elapsed();
    spinner.finish_and_clear();
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|source| EngineError::Io { path: args.out_dir.clone(), action: "create directory", source })?;
    let prover = Prover::new(backend);
    let pvk = PreparedVerifyingKey::new(&pk.vk);
    let bar = progress::bar(args.witnesses.len() as u64, "proving");
    let prove_start = Instant::now();
    let mut phase_totals = zkq_engine::PhaseTimings::default();
    for chunk in args.witnesses.chunks(args.batch_size) {
        let witnesses = chunk.iter().map(|p| Witness::read(p)).collect::<Result<Vec<_>, _>>()?;
        let out = prover.prove_batch(&pk, &witnesses)?;
        verify_all(&pvk, &out, &witnesses)?;
        for ((proof, public), path) in out.proofs.iter().zip(&out.public_signals).zip(chunk) {
            let (proof_path, public_path) = output_paths(&args.out_dir, path);
            sjson::write_json(&proof_path, &sjson::proof_to_json(proof))
                .with_context(|| format!("writing the proof of {}", path.display()))?;
            sjson::write_json(&public_path, &sjson::public_to_json(public))?;
        }
        phase_totals += out.timings;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let proving = prove_start.elapsed();
    let n = args.witnesses.len();
    let per_second = n as f64 / proving.as_secs_f64();
    match args.format.format {
        Format::Text => {
            println!("proved and verified {n} witnesses in {:.3} s ({per_second:.2} proofs/s, {:.1} ms/proof warm)", proving.as_secs_f64(), proving.as_secs_f64() * 1e3 / n as f64);
            println!("zkey load {:.3} s; total {:.3} s; outputs in {}", load_zkey.as_secs_f64(), start.elapsed().as_secs_f64(), args.out_dir.display());
            for (name, d) in phase_totals.phases() {
                println!("  {name:>16}: {:8.2} ms/proof", d.as_secs_f64() * 1e3 / n as f64);
            }
        }
        Format::Json => {
            let phases: serde_json::Map<String, serde_json::Value> =
                phase_totals.phases().iter().map(|(k, d)| (k.to_string(), json!(secs(*d) / n as f64))).collect();
            println!(
                "{}",
                json!({"proofs": n, "proving_seconds": secs(proving), "proofs_per_second": per_second,
                       "zkey_load_seconds": secs(load_zkey), "total_seconds": secs(start.elapsed()),
                       "phase_seconds_per_proof": phases, "out_dir": args.out_dir})
            );
        }
    }
    Ok(ExitCode::Ok)
}
