//! `zkq-kernel-bench`: times one kernel backend (cpu, cuda, wgpu) beside the CPU backend in one
//! run — G1 MSM, G2 MSM and NTT over a range of sizes, and batch proving of a fixture — for
//! machines where criterion is not convenient (the GPU machines have no Rust toolchain: build
//! this binary here and copy it there). Every backend result is checked against the CPU
//! backend's before it is timed; a mismatch stops the run.
//!
//! ```text
//! zkq-kernel-bench --backend cuda --msm-log 16..24 --ntt-log 16..24 --g2-log 12..16 --runs 5
//! zkq-kernel-bench --backend cuda --prove mul_chain_4k --batch 32 --format json
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ff::FftField;
use clap::Parser;
use serde::Serialize;
use zkq_bench::inputs;
use zkq_engine::fixtures;
use zkq_kernels::{open_backend, Backend, BackendConfig, BackendKind, Bases, NttOp};

#[derive(Debug, Parser)]
#[command(name = "zkq-kernel-bench", about = "Time a kernel backend beside the CPU backend")]
struct Args {
    /// Backend to measure: cpu, cuda or wgpu.
    #[arg(long, default_value = "cuda")]
    backend: String,
    /// G1 MSM sizes as a log2 range `lo..hi` (inclusive); empty skips.
    #[arg(long, default_value = "16..20")]
    msm_log: String,
    /// G2 MSM sizes, log2 range.
    #[arg(long, default_value = "12..14")]
    g2_log: String,
    /// NTT sizes, log2 range (forward coset transforms, the prover's shape).
    #[arg(long, default_value = "16..20")]
    ntt_log: String,
    /// Timed runs per size (after one untimed warm-up run); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also time the CPU backend at every size (doubles the run time).
    #[arg(long)]
    with_cpu: bool,
    /// Prove this fixture in batches (multi_public, poseidon_merkle, mul_chain_4k); `none` skips.
    #[arg(long, default_value = "multi_public")]
    prove: String,
    /// Proofs per batch for --prove.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Output: text or json.
    #[arg(long, default_value = "text")]
    format: String,
}

#[derive(Debug, Serialize)]
struct Row {
    op: String,
    backend: String,
    log_n: u32,
    median_ms: f64,
    min_ms: f64,
    runs: usize,
}

fn range(s: &str) -> Result<Vec<u32>> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let (lo, hi) = s.split_once("..").with_context(|| format!("size range `{s}`: expected lo..hi"))?;
    let (lo, hi): (u32, u32) = (lo.trim().parse()?, hi.trim().parse()?);
    if lo > hi || hi > 28 {
        bail!("size range `{s}`: need lo ≤ hi ≤ 28");
    }
    Ok((lo..=hi).collect())
}

fn time(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    f()?; // warm-up: uploads resident bases, compiles, fills caches
    let mut t: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed());
    }
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok((ms(t[t.len() / 2]), ms(t[0])))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let kind: BackendKind = args.backend.parse()?;
    let backend = open_backend(&BackendConfig { kind, ..Default::default() }).with_context(|| format!("opening backend {kind}"))?;
    let cpu = open_backend(&BackendConfig::default())?;
    eprintln!("device: {}", backend.device_name());
    let mut rows = Vec::new();
    let mut rng = inputs::rng();
    let measure = |rows: &mut Vec<Row>, op: &str, log_n: u32, b: &Arc<dyn Backend>, f: &mut dyn FnMut(&dyn Backend) -> Result<()>| -> Result<()> {
        let (median_ms, min_ms) = time(args.runs, || f(b.as_ref()))?;
        eprintln!("{op:<8} 2^{log_n:<2} {:<5} median {median_ms:>10.3} ms  min {min_ms:>10.3} ms", b.kind());
        rows.push(Row { op: op.into(), backend: b.kind().to_string(), log_n, median_ms, min_ms, runs: args.runs });
        Ok(())
    };

    let msm_logs = range(&args.msm_log)?;
    if let Some(&top) = msm_logs.last() {
        let points = inputs::random_points::<G1Projective>(1 << top, &mut rng);
        let scalars = inputs::random_scalars::<Fr>(1 << top, &mut rng);
        for &log in &msm_logs {
            let n = 1usize << log;
            let bases = Bases::new(points[..n].to_vec());
            let s = &scalars[..n];
            let want = cpu.msm_g1(&bases, &[s])?;
            if backend.msm_g1(&bases, &[s])? != want {
                bail!("{kind} G1 MSM 2^{log} differs from the CPU backend");
            }
            let mut run = |b: &dyn Backend| b.msm_g1(&bases, &[s]).map(|_| ()).map_err(Into::into);
            measure(&mut rows, "msm_g1", log, &backend, &mut run)?;
            if args.with_cpu {
                measure(&mut rows, "msm_g1", log, &cpu, &mut run)?;
            }
        }
    }
    let g2_logs = range(&args.g2_log)?;
    if let Some(&top) = g2_logs.last() {
        let points = inputs::random_points::<G2Projective>(1 << top, &mut rng);
        let scalars = inputs::random_scalars::<Fr>(1 << top, &mut rng);
        for &log in &g2_logs {
            let n = 1usize << log;
            let bases = Bases::new(points[..n].to_vec());
            let s = &scalars[..n];
            if backend.msm_g2(&bases, &[s])? != cpu.msm_g2(&bases, &[s])? {
                bail!("{kind} G2 MSM 2^{log} differs from the CPU backend");
            }
            let mut run = |b: &dyn Backend| b.msm_g2(&bases, &[s]).map(|_| ()).map_err(Into::into);
            measure(&mut rows, "msm_g2", log, &backend, &mut run)?;
            if args.with_cpu {
                measure(&mut rows, "msm_g2", log, &cpu, &mut run)?;
            }
        }
    }
    let coset = NttOp::ForwardCoset(Fr::GENERATOR);
    for log in range(&args.ntt_log)? {
        let v = inputs::random_scalars::<Fr>(1 << log, &mut rng);
        let (mut a, mut b) = (v.clone(), v.clone());
        backend.ntt(&mut [&mut a], coset)?;
        cpu.ntt(&mut [&mut b], coset)?;
        if a != b {
            bail!("{kind} NTT 2^{log} differs from the CPU backend");
        }
        let mut run = |be: &dyn Backend| {
            let mut x = v.clone();
            be.ntt(&mut [&mut x], coset).map_err(Into::into)
        };
        measure(&mut rows, "ntt", log, &backend, &mut run)?;
        if args.with_cpu {
            measure(&mut rows, "ntt", log, &cpu, &mut run)?;
        }
    }
    if args.prove != "none" {
        let fixture = fixtures::ALL.iter().find(|f| f.name == args.prove).with_context(|| format!("unknown fixture {}", args.prove))?;
        let pk = zkq_engine::zkey::read_proving_key(&fixture.zkey())?;
        let witness = zkq_engine::wtns::Witness::read(&fixture.wtns())?;
        let witnesses = vec![witness; args.batch];
        for b in [Some(&backend), args.with_cpu.then_some(&cpu)].into_iter().flatten() {
            let prover = zkq_engine::prover::Prover::new(b.clone());
            let out = prover.prove_batch(&pk, &witnesses)?;
            let vk = zkq_engine::verifier::PreparedVerifyingKey::new(&pk.vk);
            for (i, proof) in out.proofs.iter().enumerate() {
                if !vk.verify(&out.public_signals[i], proof)? {
                    bail!("{} proof {i} of {} does not verify", b.kind(), fixture.name);
                }
            }
            let (median_ms, min_ms) = time(args.runs, || prover.prove_batch(&pk, &witnesses).map(|_| ()).map_err(Into::into))?;
            let per_s = args.batch as f64 / (median_ms / 1e3);
            eprintln!("prove {} batch {} on {}: median {median_ms:.1} ms = {per_s:.1} proofs/s", fixture.name, args.batch, b.kind());
            rows.push(Row { op: format!("prove_batch_{}x{}", fixture.name, args.batch), backend: b.kind().to_string(), log_n: 0, median_ms, min_ms, runs: args.runs });
        }
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"device": backend.device_name(), "rows": rows}))?);
    } else {
        for r in &rows {
            println!("{:<32} {:<5} 2^{:<2} median {:>10.3} ms  min {:>10.3} ms  ({} runs)", r.op, r.backend, r.log_n, r.median_ms, r.min_ms, r.runs);
        }
    }
    Ok(())
}
