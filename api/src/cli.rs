//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use zkq_kernels::BackendKind;

/// GPU-accelerated batch Groth16 prover for circom/snarkjs circuits (BN254).
#[derive(Debug, Parser)]
#[command(name = "zkq", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Prove one witness: a drop-in for `snarkjs groth16 prove` and rapidsnark's `prover`.
    ///
    /// The proof is verified before anything is written; a witness that does not satisfy the
    /// circuit exits with code 4 and writes nothing.
    Prove(ProveArgs),
    /// Prove many witnesses of one circuit with the key loaded once (a batch).
    ProveBatch(ProveBatchArgs),
    /// Verify a proof: exit 0 valid, 1 invalid, 2 bad input, 3 missing file.
    Verify(VerifyArgs),
    /// Inspect and export from `.zkey` files.
    #[command(subcommand)]
    Zkey(ZkeyCommand),
    /// List the kernel backends and whether this machine can run them.
    Backends(FormatArgs),
    /// Development tools. INSECURE: never use their output outside tests and benchmarks.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum DevCommand {
    /// INSECURE Groth16 setup, `.r1cs` → `.zkey` in seconds, for tests and benchmarks.
    ///
    /// One process draws the toxic waste (τ, α, β, γ, δ), so whoever ran it — or, with
    /// --seed, whoever knows the seed — can forge proofs. The key is otherwise what snarkjs
    /// makes: `snarkjs groth16 prove` and `snarkjs zkey export verificationkey` accept it.
    /// Use a powers-of-tau ceremony and `snarkjs groth16 setup` for anything real.
    Setup(DevSetupArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DevSetupArgs {
    /// The constraint system (`circuit.r1cs`, from circom).
    pub(crate) r1cs: PathBuf,
    /// Where to write the proving key.
    pub(crate) zkey: PathBuf,
    /// Derive the toxic waste from this hex seed (reproducible keys; anyone with the seed can
    /// forge proofs) [default: a fresh seed from the OS CSPRNG, then discarded].
    #[arg(long, value_name = "HEX")]
    pub(crate) seed: Option<String>,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BackendArgs {
    /// Kernel backend: cpu, wgpu or cuda.
    #[arg(long, default_value = "cpu", value_parser = parse_backend)]
    pub(crate) backend: BackendKind,
    /// CPU threads for the cpu backend [default: one per core].
    #[arg(long)]
    pub(crate) threads: Option<usize>,
}

fn parse_backend(s: &str) -> Result<BackendKind, String> {
    s.parse().map_err(|e: zkq_kernels::KernelError| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The proving key (`circuit_final.zkey`).
    pub(crate) zkey: PathBuf,
    /// The witness (`witness.wtns`).
    pub(crate) witness: PathBuf,
    /// Where to write `proof.json`.
    pub(crate) proof: PathBuf,
    /// Where to write `public.json`.
    pub(crate) public: PathBuf,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Print per-phase timings to stderr (text) or stdout (json).
    #[arg(long, value_enum)]
    pub(crate) timings: Option<Format>,
}

#[derive(Debug, Args)]
pub(crate) struct ProveBatchArgs {
    /// The proving key.
    pub(crate) zkey: PathBuf,
    /// Directory for `<witness stem>.proof.json` and `<witness stem>.public.json`.
    #[arg(long = "out-dir")]
    pub(crate) out_dir: PathBuf,
    /// Witness files.
    #[arg(required = true)]
    pub(crate) witnesses: Vec<PathBuf>,
    /// Proofs per backend batch [default: 16].
    #[arg(long, default_value_t = 16)]
    pub(crate) batch_size: usize,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// `verification_key.json`.
    pub(crate) verification_key: PathBuf,
    /// `public.json`.
    pub(crate) public: PathBuf,
    /// `proof.json`.
    pub(crate) proof: PathBuf,
    #[command(flatten)]
    pub(crate) format: FormatArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ZkeyCommand {
    /// Curve, sizes, sections and sha256 of a zkey.
    Info {
        /// The zkey.
        zkey: PathBuf,
        #[command(flatten)]
        format: FormatArgs,
    },
    /// Write `verification_key.json` as `snarkjs zkey export verificationkey` does.
    ExportVk {
        /// The zkey.
        zkey: PathBuf,
        /// Output `verification_key.json`.
        verification_key: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
}
