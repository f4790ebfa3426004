//! `zkq-side-by-side`: times `zkq prove` against `snarkjs groth16 prove` (and rapidsnark's
//! `prover` when `RAPIDSNARK_BIN` is set) on the committed circom fixtures and on any circuit
//! directory given with `--circuit` (holding `circuit.zkey`, `witness.wtns`,
//! `verification_key.json` and optionally `public.json`), and — with `--warm-batch N` — zkq's
//! warm throughput beside them (`zkq-warm-batch`: key loaded once and prepared, batches of N).
//!
//! Every tool proves the same `circuit.zkey` and `witness.wtns`, one process per proof ("cold":
//! start-up and file I/O included), into a temporary directory; the tools take turns run by run. Every proof produced, warm-up
//! runs included, is checked with `zkq verify` against the fixture's `verification_key.json`,
//! and its public signals against the fixture's `public.json`; a proof that fails either check
//! stops the run with an error. Wall time and peak RSS are measured per child (`wait4`).
//!
//! ```text
//! cargo build --release -p zkq-cli -p zkq-bench
//! npm ci --prefix tools/node                      # the pinned snarkjs, once
//! $CARGO_TARGET_DIR/release/zkq-side-by-side --runs 3
//! $CARGO_TARGET_DIR/release/zkq-side-by-side --fixture mul_chain_4k --format json
//! RAPIDSNARK_BIN=/path/to/prover $CARGO_TARGET_DIR/release/zkq-side-by-side
//! RAPIDSNARK_BIN=/path/to/prover $CARGO_TARGET_DIR/release/zkq-side-by-side \
//!     --fixture poseidon_merkle --circuit /tmp/zkq-c16 --warm-batch 32
//! ```
//!
//! Without a `public.json` in a `--circuit` directory, the first proof's public signals are
//! the reference every later proof must match. A `zkq warm ×N` row counts one timed batch as
//! one run and gives seconds per proof (batch wall time ÷ N); `zkq-warm-batch` verifies every
//! proof of every batch with the pairing verifier.
//!
//! Progress goes to stderr, the table (or JSON) to stdout.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use zkq_bench::tools::{pretty, resolve_zkq};

use anyhow::{bail, ensure, Context, Result};
use clap::{Parser, ValueEnum};
use zkq_bench::child::{log_tail, run_measured, Measurement};
use zkq_bench::report::{load_average, table, Report, ToolInfo};
use zkq_bench::stats::{fill_ratios, Summary};
use zkq_engine::fixtures::{repo_root, ALL};

/// Environment variable naming rapidsnark's `prover` executable; rapidsnark runs only when set.
const RAPIDSNARK_ENV: &str = "RAPIDSNARK_BIN";

/// Time `zkq prove` against snarkjs (and rapidsnark) on the circom fixtures.
#[derive(Debug, Parser)]
#[command(name = "zkq-side-by-side", version, about, long_about = None)]
struct Args {
    /// The `zkq` binary [default: $CARGO_TARGET_DIR/release/zkq, else target/release/zkq].
    #[arg(long, value_name = "PATH")]
    zkq_bin: Option<PathBuf>,

    /// The `snarkjs` executable [default: the pinned tools/node/node_modules/.bin/snarkjs].
    #[arg(long, value_name = "PATH")]
    snarkjs_bin: Option<PathBuf>,

    /// Fixture to run (repeatable) [default: all]. One of: multi_public, poseidon_merkle,
    /// mul_chain_4k.
    #[arg(long = "fixture", value_name = "NAME")]
    fixtures: Vec<String>,

    /// A circuit directory to run besides the fixtures (repeatable): `circuit.zkey`,
    /// `witness.wtns`, `verification_key.json`, optionally `public.json`. Given alone, no
    /// fixture runs unless `--fixture` names it.
    #[arg(long = "circuit", value_name = "DIR")]
    circuits: Vec<PathBuf>,

    /// Also measure zkq warm: batches of this many proofs in one process with the key
    /// prepared (`zkq-warm-batch`), one timed batch per run. 0: off.
    #[arg(long, default_value_t = 0, value_name = "N")]
    warm_batch: u32,

    /// The `zkq-warm-batch` binary [default: beside this binary].
    #[arg(long, value_name = "PATH")]
    warm_bin: Option<PathBuf>,

    /// Timed runs per tool and fixture.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// Untimed (still verified) runs per tool and fixture before the timed ones, so every
    /// tool meets a warm page cache.
    #[arg(long, default_value_t = 1)]
    warmup: u32,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// How to print the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// An aligned text table.
    Table,
    /// A JSON document with the same figures and every run's time.
    Json,
}

/// A circuit to prove: a committed fixture or a `--circuit` directory.
#[derive(Debug, Clone)]
struct Target {
    /// Name in the table.
    name: String,
    /// The proving key.
    zkey: PathBuf,
    /// The witness.
    wtns: PathBuf,
    /// The verification key (snarkjs JSON).
    vk_json: PathBuf,
    /// The expected public signals, when the directory has them.
    public_json: Option<PathBuf>,
}

impl Target {
    /// The target for a circuit directory; every file it needs must be there.
    fn from_dir(dir: &Path) -> Result<Self> {
        let name = dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
        let file = |f: &str| -> Result<PathBuf> {
            let p = dir.join(f);
            ensure!(p.is_file(), "--circuit {}: no {f} in it", dir.display());
            Ok(p)
        };
        let public = dir.join("public.json");
        Ok(Self {
            name,
            zkey: file("circuit.zkey")?,
            wtns: file("witness.wtns")?,
            vk_json: file("verification_key.json")?,
            public_json: public.is_file().then_some(public),
        })
    }
}

/// A prover under test and how to call it.
#[derive(Debug, Clone)]
struct Tool {
    /// Short name for the table.
    name: &'static str,
    /// Executable.
    program: PathBuf,
    /// Arguments before the four positional `zkey wtns proof.json public.json`.
    prefix: &'static [&'static str],
}

impl Tool {
    /// The command proving `zkey` with `wtns` into `proof` and `public`.
    fn prove_command(&self, zkey: &Path, wtns: &Path, proof: &Path, public: &Path) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(self.prefix)
            .arg(zkey)
            .arg(wtns)
            .arg(proof)
            .arg(public);
        cmd
    }
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

fn run(args: Args) -> Result<()> {
    let zkq = resolve_zkq(args.zkq_bin.clone())?;
    let mut tools = vec![
        Tool {
            name: "zkq",
            program: zkq.clone(),
            prefix: &["prove"],
        },
        Tool {
            name: "snarkjs",
            program: resolve_snarkjs(args.snarkjs_bin.clone())?,
            prefix: &["groth16", "prove"],
        },
    ];
    if let Some(p) = std::env::var_os(RAPIDSNARK_ENV) {
        let program = PathBuf::from(p);
        ensure!(
            program.is_file(),
            "{RAPIDSNARK_ENV}={}: no such file",
            program.display()
        );
        tools.push(Tool {
            name: "rapidsnark",
            program,
            prefix: &[],
        });
    }
    let mut targets: Vec<Target> = if args.fixtures.is_empty() && !args.circuits.is_empty() {
        Vec::new()
    } else {
        select_fixtures(&args.fixtures)?
            .into_iter()
            .map(|f| Target {
                name: f.name.to_owned(),
                zkey: f.zkey(),
                wtns: f.wtns(),
                vk_json: f.vk_json(),
                public_json: Some(f.public_json()),
            })
            .collect()
    };
    for dir in &args.circuits {
        targets.push(Target::from_dir(dir)?);
    }
    let warm_bin = if args.warm_batch > 0 { Some(resolve_warm_bin(args.warm_bin.clone())?) } else { None };
    let work = tempfile::Builder::new()
        .prefix("zkq-side-by-side-")
        .tempdir()
        .context("cannot create a temporary directory")?;

    let mut results = Vec::new();
    for target in &targets {
        let measured = measure_fixture(&tools, target, &zkq, work.path(), args.warmup, args.runs).and_then(|mut rows| {
            if let Some(bin) = &warm_bin {
                rows.push(measure_warm(bin, target, args.warm_batch, args.runs)?);
            }
            Ok(rows)
        });
        match measured {
            Ok(rows) => results.extend(rows),
            Err(e) => {
                // Keep the proofs and logs for inspection.
                let kept = work.keep();
                return Err(e.context(format!("outputs and logs kept in {}", kept.display())));
            }
        }
    }
    fill_ratios(&mut results);

    let report = Report {
        runs: args.runs as usize,
        warmup_runs: args.warmup as usize,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_average: load_average(),
        tools: tools
            .iter()
            .map(|t| ToolInfo {
                name: t.name.to_owned(),
                path: t.program.display().to_string(),
            })
            .collect(),
        results,
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Table => stdout.write_all(table(&report).as_bytes())?,
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    stdout.flush()?;
    Ok(())
}

/// Runs every tool on `fixture` `warmup + runs` times and summarises the timed runs, one row
/// per tool. Tools take turns run by run (zkq, snarkjs, …, zkq, snarkjs, …) so that a change
/// in machine load during the measurement hits them alike.
fn measure_fixture(
    tools: &[Tool],
    fixture: &Target,
    zkq: &Path,
    work: &Path,
    warmup: u32,
    runs: u32,
) -> Result<Vec<Summary>> {
    let mut expected_public = fixture.public_json.as_deref().map(read_json).transpose()?;
    let mut times = vec![Vec::new(); tools.len()];
    let mut rss = vec![Vec::new(); tools.len()];
    let mut cpu = vec![Vec::new(); tools.len()];
    for i in 0..warmup + runs {
        let timed = i >= warmup;
        for (t, tool) in tools.iter().enumerate() {
            let m = prove_once(tool, fixture, zkq, work, i, &mut expected_public)?;
            eprintln!(
                "[{}] {:<10} {} {}/{}: {:.3} s, peak RSS {}",
                fixture.name,
                tool.name,
                if timed { "run   " } else { "warmup" },
                if timed { i - warmup + 1 } else { i + 1 },
                if timed { runs } else { warmup },
                m.wall.as_secs_f64(),
                m.peak_rss_bytes.map_or_else(
                    || "n/a".to_owned(),
                    |b| format!("{:.1} MiB", b as f64 / 1048576.0)
                ),
            );
            if timed {
                times[t].push(m.wall);
                rss[t].push(m.peak_rss_bytes);
                cpu[t].push(m.cpu);
            }
        }
    }
    tools
        .iter()
        .enumerate()
        .map(|(t, tool)| {
            Summary::new(&fixture.name, tool.name, &times[t], &rss[t]).map(|s| s.with_cpu(&cpu[t])).context("no timed runs")
        })
        .collect()
}

/// One cold `prove` by `tool` on `fixture` (run number `i`), then `zkq verify` on the proof
/// and a comparison of its public signals with the expected ones (the first proof's, when
/// the target has none).
fn prove_once(
    tool: &Tool,
    fixture: &Target,
    zkq: &Path,
    work: &Path,
    i: u32,
    expected_public: &mut Option<serde_json::Value>,
) -> Result<Measurement> {
    let stem = work.join(format!("{}-{}-{i}", fixture.name, tool.name));
    let (proof, public, log) = (
        stem.with_extension("proof.json"),
        stem.with_extension("public.json"),
        stem.with_extension("log"),
    );
    let m = run_measured(
        &mut tool.prove_command(&fixture.zkey, &fixture.wtns, &proof, &public),
        &log,
    )
    .with_context(|| format!("{} on {}", tool.name, fixture.name))?;
    if !m.status.success() {
        bail!(
            "{} failed on {} (run {i}, {}):\n{}",
            tool.name,
            fixture.name,
            m.status,
            log_tail(&log, 20)
        );
    }
    verify(zkq, fixture, &proof, &public)
        .with_context(|| format!("{} proof on {} (run {i})", tool.name, fixture.name))?;
    let got_public = read_json(&public)?;
    let expected_public = expected_public.get_or_insert_with(|| got_public.clone());
    ensure!(
        got_public == *expected_public,
        "{} wrote public signals {got_public} on {} (run {i}), expected {expected_public}",
        tool.name,
        fixture.name
    );
    Ok(m)
}

/// `zkq verify <vk.json> <public.json> <proof.json>`: exit 0 valid, 1 invalid, else bad input.
fn verify(zkq: &Path, fixture: &Target, proof: &Path, public: &Path) -> Result<()> {
    let out = Command::new(zkq)
        .arg("verify")
        .arg(&fixture.vk_json)
        .arg(public)
        .arg(proof)
        .output()
        .with_context(|| format!("cannot run {} verify", zkq.display()))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = said.trim();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => bail!("the proof does NOT verify ({}): {said}", proof.display()),
        _ => bail!(
            "`zkq verify` could not check {} ({}): {said}",
            proof.display(),
            out.status
        ),
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// The fixtures named on the command line, in the order given, or all of them.
fn select_fixtures(names: &[String]) -> Result<Vec<zkq_engine::fixtures::Fixture>> {
    if names.is_empty() {
        return Ok(ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            ALL.iter().copied().find(|f| f.name == n).with_context(|| {
                let known: Vec<&str> = ALL.iter().map(|f| f.name).collect();
                format!(
                    "unknown fixture `{n}` (expected one of: {})",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// zkq warm on `target`: one `zkq-warm-batch` process (key loaded once and prepared, one
/// untimed warm-up batch, then `runs` timed batches of `batch`; it verifies every proof and
/// fails on an invalid one). One row: seconds per proof per batch, CPU per proof, peak RSS.
fn measure_warm(bin: &Path, target: &Target, batch: u32, runs: u32) -> Result<Summary> {
    eprintln!("[{}] zkq warm: {runs} batch(es) of {batch} …", target.name);
    let out = Command::new(bin)
        .arg(&target.zkey)
        .arg(&target.wtns)
        .args(["--batch", &batch.to_string(), "--rounds", &runs.to_string(), "--format", "json"])
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    ensure!(
        out.status.success(),
        "{} failed on {} ({}): {}",
        bin.display(),
        target.name,
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| format!("{} printed no JSON", bin.display()))?;
    let rates: Vec<f64> = doc["proofs_per_second"]["rounds"]
        .as_array()
        .context("zkq-warm-batch JSON lacks proofs_per_second.rounds")?
        .iter()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    ensure!(rates.len() == runs as usize && rates.iter().all(|r| *r > 0.0), "zkq-warm-batch reported rates {rates:?} for {runs} rounds");
    let times: Vec<std::time::Duration> = rates.iter().map(|r| std::time::Duration::from_secs_f64(1.0 / r)).collect();
    // One process: its peak RSS stands for every batch.
    let rss = vec![doc["peak_rss_mib"].as_f64().map(|m| (m * 1048576.0) as u64); times.len()];
    let cpu = doc["cpu_ms_per_proof_median"].as_f64().map(|ms| std::time::Duration::from_secs_f64(ms / 1e3));
    let summary = Summary::new(&target.name, &format!("zkq warm ×{batch}"), &times, &rss).context("no timed batches")?;
    Ok(summary.with_cpu(&[cpu]))
}

/// `--warm-bin`, else `zkq-warm-batch` beside this binary.
fn resolve_warm_bin(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let p = match explicit {
        Some(p) => p,
        None => std::env::current_exe().context("cannot locate this binary")?.with_file_name("zkq-warm-batch"),
    };
    ensure!(p.is_file(), "the warm-batch binary {} was not found; build it with `cargo build --release -p zkq-bench --bin zkq-warm-batch` or pass --warm-bin PATH", p.display());
    Ok(p)
}

/// `--snarkjs-bin`, else the pinned snarkjs under `tools/node`.
fn resolve_snarkjs(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        ensure!(p.is_file(), "--snarkjs-bin {}: no such file", p.display());
        return Ok(p);
    }
    let p = pretty(repo_root()).join("tools/node/node_modules/.bin/snarkjs");
    ensure!(
        p.is_file(),
        "the pinned snarkjs was not found at {}; install it with `npm ci --prefix tools/node` \
         (run from the repository root) or pass --snarkjs-bin PATH",
        p.display()
    );
    Ok(p)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circuit_directory_must_hold_key_witness_and_vk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Target::from_dir(dir.path()).expect_err("empty directory");
        assert!(err.to_string().contains("no circuit.zkey"), "{err}");
        for f in ["circuit.zkey", "witness.wtns"] {
            std::fs::write(dir.path().join(f), b"x").expect("write");
        }
        let err = Target::from_dir(dir.path()).expect_err("no vk");
        assert!(err.to_string().contains("no verification_key.json"), "{err}");
        std::fs::write(dir.path().join("verification_key.json"), b"{}").expect("write");
        let t = Target::from_dir(dir.path()).expect("complete");
        assert_eq!(t.public_json, None);
        std::fs::write(dir.path().join("public.json"), b"[]").expect("write");
        assert!(Target::from_dir(dir.path()).expect("complete").public_json.is_some());
    }

    #[test]
    fn a_missing_warm_binary_is_a_clear_error() {
        let err = resolve_warm_bin(Some(PathBuf::from("/nonexistent/zkq-warm-batch"))).expect_err("missing");
        assert!(err.to_string().contains("--warm-bin"), "{err}");
    }
}
