//! `zkq-warm-batch`: warm throughput of the in-process engine, the figure a long-lived worker
//! sees — key loaded once and prepared (resident fixed-base tables), then batches of one
//! circuit proved back to back.
//!
//! Loads the zkey and one witness, prepares the key ([`Prover::prepare`], timed and reported),
//! proves one untimed warm-up batch, then `--rounds` timed batches of `--batch` copies of the
//! witness (fresh randomness per proof). Every proof, warm-up included, is checked with the
//! pairing verifier against the key's verifying key, outside the timing; an invalid proof is an
//! error. Reports proofs/s per round (median, min, max), the per-proof share of each phase,
//! the CPU time per proof (user + system over all threads: on a shared machine it moves less
//! than wall time), preparation time, resident table bytes and the process's peak RSS (`VmHWM`).
//!
//! ```text
//! cargo build --release -p zkq-bench --bin zkq-warm-batch
//! $CARGO_TARGET_DIR/release/zkq-warm-batch fixtures/circuits/mul_chain_4k/circuit.zkey \
//!     fixtures/circuits/mul_chain_4k/witness.wtns --batch 32 --rounds 3
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::{Parser, ValueEnum};
use serde_json::json;
use zkq_bench::report::load_average;
use zkq_engine::{zkey, PhaseTimings, PreparedVerifyingKey, Prover, Witness};
use zkq_kernels::{Backend, CpuBackend, CpuOptions};

/// Warm batch throughput of the in-process engine on one circuit.
#[derive(Debug, Parser)]
#[command(name = "zkq-warm-batch", version, about, long_about = None)]
struct Args {
    /// The Groth16 `.zkey`.
    zkey: PathBuf,
    /// A witness `.wtns` for it (proved `--batch` times per round).
    wtns: PathBuf,
    /// Proofs per batch.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Timed batches.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// CPU threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Do not prepare the key (no fixed-base tables): the variable-base path.
    #[arg(long)]
    no_prepare: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// How to print the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Text lines.
    Table,
    /// One JSON document.
    Json,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Peak resident set size of this process in MiB (`VmHWM`), where `/proc` has it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// CPU time (user + system) this process has used, in seconds, where `/proc` has it.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn run(args: Args) -> Result<()> {
    let load_start = load_average();
    let t = Instant::now();
    let pk = zkey::read_proving_key(&args.zkey).with_context(|| format!("reading {}", args.zkey.display()))?;
    let key_load_s = t.elapsed().as_secs_f64();
    let witness = Witness::read(&args.wtns).with_context(|| format!("reading {}", args.wtns.display()))?;
    let options = CpuOptions {
        threads: args.threads,
        prepare_after: usize::MAX,
        precompute_budget_bytes: if args.no_prepare { 0 } else { CpuOptions::default().precompute_budget_bytes },
    };
    let backend: Arc<dyn Backend> = Arc::new(CpuBackend::with_options(options)?);
    let prover = Prover::new(backend.clone());
    let t = Instant::now();
    let resident = prover.prepare(&pk)?;
    let prepare_s = t.elapsed().as_secs_f64();
    let pvk = PreparedVerifyingKey::new(&pk.vk);
    let witnesses = vec![witness; args.batch as usize];

    let prove_and_check = |round: &str| -> Result<(f64, f64, PhaseTimings)> {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let out = prover.prove_batch(&pk, &witnesses)?;
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        for (k, (proof, public)) in out.proofs.iter().zip(&out.public_signals).enumerate() {
            ensure!(pvk.verify(public, proof)?, "{round}: proof {k} does not verify");
        }
        Ok((secs, cpu, out.timings))
    };
    eprintln!("key loaded in {key_load_s:.3} s, prepared in {prepare_s:.3} s; warm-up batch …");
    prove_and_check("warm-up")?;
    let mut rates = Vec::new();
    let mut cpu_ms = Vec::new();
    let mut phases = PhaseTimings::default();
    for r in 0..args.rounds {
        let (secs, cpu, timings) = prove_and_check(&format!("round {r}"))?;
        let rate = f64::from(args.batch) / secs;
        eprintln!("round {r}: {secs:.3} s, {rate:.2} proofs/s, {cpu:.2} CPU s");
        cpu_ms.push(cpu * 1e3 / f64::from(args.batch));
        rates.push(rate);
        phases += timings;
    }
    let per_proof = phases.per_proof((args.batch * args.rounds) as usize);
    let (min, max) = rates.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    let med = median(&mut rates.clone());
    let cpu_med = median(&mut cpu_ms);
    let rss = peak_rss_mib();
    let load_end = load_average();
    let phase_ms: Vec<(String, f64)> =
        per_proof.phases().iter().map(|(name, d)| ((*name).to_string(), d.as_secs_f64() * 1e3)).collect();
    let mut out = String::new();
    match args.format {
        Format::Json => {
            let doc = json!({
                "zkey": args.zkey, "batch": args.batch, "rounds": args.rounds,
                "device": backend.device_name(), "prepared": !args.no_prepare,
                "proofs_per_second": {"median": med, "min": min, "max": max, "rounds": rates},
                "ms_per_proof_at_median": 1e3 / med,
                "cpu_ms_per_proof_median": cpu_med,
                "phase_ms_per_proof": phase_ms.iter().map(|(n, ms)| json!({"phase": n, "ms": ms})).collect::<Vec<_>>(),
                "key_load_s": key_load_s, "prepare_s": prepare_s, "resident_table_bytes": resident,
                "peak_rss_mib": rss, "load_start": load_start, "load_end": load_end,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            writeln!(out, "{} — {} proofs/batch × {} rounds on {}", args.zkey.display(), args.batch, args.rounds, backend.device_name())?;
            writeln!(out, "proofs/s: median {med:.2} (min {min:.2}, max {max:.2}); {:.1} ms/proof at median", 1e3 / med)?;
            writeln!(out, "CPU time (user + system, all threads): {cpu_med:.1} ms/proof (median of rounds)")?;
            for (name, ms) in &phase_ms {
                writeln!(out, "  {name:<16} {ms:8.1} ms/proof (wall share; H and B in G2 overlap the rest)")?;
            }
            writeln!(
                out,
                "key load {key_load_s:.3} s, prepare {prepare_s:.3} s, resident tables {:.1} MiB, peak RSS {} MiB",
                resident as f64 / (1024.0 * 1024.0),
                rss.map_or("?".into(), |r| format!("{r:.1}"))
            )?;
            writeln!(out, "load {} → {}", load_start.unwrap_or_default(), load_end.unwrap_or_default())?;
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}
