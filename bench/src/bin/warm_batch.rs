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
    /// Keep the scalar fixed-base path even where the CPU has AVX-512 IFMA
    /// (`CpuOptions::simd = false`), to compare the two.
    #[arg(long)]
    no_simd: bool,
    /// After the timed rounds, run each phase of one batch on its own (no overlap) and report
    /// its wall and CPU time per proof: where a proof's work goes.
    #[arg(long)]
    breakdown: bool,
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
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
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

/// One phase of a batch run on its own: `(name, wall ms per proof, CPU ms per proof)`.
type PhaseCost = (&'static str, f64, f64);

/// Runs each proving phase of one batch alone, in the order the prover issues them, with the
/// same backend calls ([`zkq_engine::prover`]): the per-phase cost without overlap.
fn breakdown(backend: &dyn Backend, pk: &zkq_engine::ProvingKey, witnesses: &[Witness]) -> Result<Vec<PhaseCost>> {
    let n = witnesses.len() as f64;
    let full: Vec<&[zkq_kernels::Fr]> = witnesses.iter().map(|w| w.values.as_slice()).collect();
    let private: Vec<&[zkq_kernels::Fr]> = full.iter().map(|w| &w[pk.first_private()..]).collect();
    let mut out = Vec::new();
    let mut measure = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        f()?;
        out.push((name, t.elapsed().as_secs_f64() * 1e3 / n, (cpu_seconds() - cpu) * 1e3 / n));
        Ok(())
    };
    let mut h = Vec::new();
    measure("a, b, c; 6 NTTs; h", &mut || {
        h = zkq_engine::qap::h_evaluations(backend, pk, &full)?;
        Ok(())
    })?;
    let h_views: Vec<&[zkq_kernels::Fr]> = h.iter().map(Vec::as_slice).collect();
    measure("MSM H (G1)", &mut || Ok(backend.msm_g1(&pk.h_query, &h_views).map(drop)?))?;
    measure("MSM A (G1)", &mut || Ok(backend.msm_g1(&pk.a_query, &full).map(drop)?))?;
    measure("MSM B1 (G1)", &mut || Ok(backend.msm_g1(&pk.b_g1_query, &full).map(drop)?))?;
    measure("MSM B2 (G2)", &mut || Ok(backend.msm_g2(&pk.b_g2_query, &full).map(drop)?))?;
    measure("MSM C (G1)", &mut || Ok(backend.msm_g1(&pk.c_query, &private).map(drop)?))?;
    Ok(out)
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
        simd: !args.no_simd,
        ..CpuOptions::default()
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
    let costs = if args.breakdown { breakdown(backend.as_ref(), &pk, &witnesses)? } else { Vec::new() };
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
                "breakdown_per_proof": costs.iter().map(|(n, wall, cpu)| json!({"phase": n, "wall_ms": wall, "cpu_ms": cpu})).collect::<Vec<_>>(),
                "key_load_s": key_load_s, "prepare_s": prepare_s, "resident_table_bytes": resident,
                "peak_rss_mib": rss, "load_start": load_start, "load_end": load_end,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        Format::Table => {
            writeln!(
                out,
                "{} — {} proofs/batch × {} rounds on {}",
                args.zkey.display(),
                args.batch,
                args.rounds,
                backend.device_name()
            )?;
            writeln!(
                out,
                "proofs/s: median {med:.2} (min {min:.2}, max {max:.2}); {:.1} ms/proof at median",
                1e3 / med
            )?;
            writeln!(out, "CPU time (user + system, all threads): {cpu_med:.1} ms/proof (median of rounds)")?;
            for (name, ms) in &phase_ms {
                writeln!(out, "  {name:<16} {ms:8.1} ms/proof (wall share; H and B in G2 overlap the rest)")?;
            }
            if !costs.is_empty() {
                let cpu_sum: f64 = costs.iter().map(|c| c.2).sum();
                writeln!(out, "breakdown, each phase of one batch run alone (per proof):")?;
                for (name, wall, cpu) in &costs {
                    writeln!(
                        out,
                        "  {name:<20} {wall:7.2} ms wall {cpu:7.2} ms CPU ({:4.1} % of the phases' CPU)",
                        100.0 * cpu / cpu_sum
                    )?;
                }
                writeln!(out, "  phases' CPU sum {cpu_sum:.1} ms; a whole proof in the rounds {cpu_med:.1} ms (the rest: final combination, normalisation, threads)")?;
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
