//! `zkq-side-by-side`: times `zkq prove` against `snarkjs groth16 prove` (and rapidsnark's
//! `prover` when `RAPIDSNARK_BIN` is set) on the committed circom fixtures.
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
//! ```
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
use zkq_engine::fixtures::{repo_root, Fixture, ALL};

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
    let fixtures = select_fixtures(&args.fixtures)?;
    let work = tempfile::Builder::new()
        .prefix("zkq-side-by-side-")
        .tempdir()
        .context("cannot create a temporary directory")?;

    let mut results = Vec::new();
    for fixture in &fixtures {
        match measure_fixture(&tools, fixture, &zkq, work.path(), args.warmup, args.runs) {
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
    fixture: &Fixture,
    zkq: &Path,
    work: &Path,
    warmup: u32,
    runs: u32,
) -> Result<Vec<Summary>> {
    let expected_public = read_json(&fixture.public_json())?;
    let mut times = vec![Vec::new(); tools.len()];
    let mut rss = vec![Vec::new(); tools.len()];
    for i in 0..warmup + runs {
        let timed = i >= warmup;
        for (t, tool) in tools.iter().enumerate() {
            let m = prove_once(tool, fixture, zkq, work, i, &expected_public)?;
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
            }
        }
    }
    tools
        .iter()
        .enumerate()
        .map(|(t, tool)| {
            Summary::new(fixture.name, tool.name, &times[t], &rss[t]).context("no timed runs")
        })
        .collect()
}

/// One cold `prove` by `tool` on `fixture` (run number `i`), then `zkq verify` on the proof
/// and a comparison of its public signals with the fixture's.
fn prove_once(
    tool: &Tool,
    fixture: &Fixture,
    zkq: &Path,
    work: &Path,
    i: u32,
    expected_public: &serde_json::Value,
) -> Result<Measurement> {
    let stem = work.join(format!("{}-{}-{i}", fixture.name, tool.name));
    let (proof, public, log) = (
        stem.with_extension("proof.json"),
        stem.with_extension("public.json"),
        stem.with_extension("log"),
    );
    let m = run_measured(
        &mut tool.prove_command(&fixture.zkey(), &fixture.wtns(), &proof, &public),
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
    ensure!(
        got_public == *expected_public,
        "{} wrote public signals {got_public} on {} (run {i}), expected {expected_public}",
        tool.name,
        fixture.name
    );
    Ok(m)
}

/// `zkq verify <vk.json> <public.json> <proof.json>`: exit 0 valid, 1 invalid, else bad input.
fn verify(zkq: &Path, fixture: &Fixture, proof: &Path, public: &Path) -> Result<()> {
    let out = Command::new(zkq)
        .arg("verify")
        .arg(fixture.vk_json())
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
fn select_fixtures(names: &[String]) -> Result<Vec<Fixture>> {
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

