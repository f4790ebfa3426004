//! `zkq` — prove and verify circom/snarkjs Groth16 proofs over BN254.
//!
//! ## Layout
//! - `cli` — the command line (clap), with every default documented in `--help`.
//! - `exit` — exit codes and the mapping from errors to them; one-line error messages.
//! - `progress` — progress display, shown only when stderr is a terminal.
//! - `commands/` — one module per subcommand: `prove`, `verify`, `zkey`, `backends`, `dev`
//!   (the insecure `dev setup`), …, `finops` (forwards to the `zkq-finops` binary).
//!
//! Exit codes: 0 success (valid proof), 1 proof invalid, 2 bad input (malformed or
//! wrong-curve file, wrong sizes, bad usage), 3 a file is missing, unreadable or unwritable,
//! 4 the witness does not satisfy the circuit, 5 backend unavailable or failed, 6 `submit`: some
//! jobs failed, 7 `submit`: timed out waiting for results, 8 RabbitMQ or PostgreSQL unavailable,
//! 9 `finops`: the `zkq-finops` binary is not installed, 10 `submit`: the broker returned or
//! refused a job (not submitted), 11 a named record does not exist, 12 `policy`: refused by the
//! marketplace's review gate. `policy lint`/`suggest` exit 1 when errors remain. `zkq finops`
//! otherwise exits with `zkq-finops`'s own code.

#![allow(clippy::print_stdout)]

mod cli;
mod commands;
mod exit;
mod progress;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    init_tracing();
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let code = exit::code_for(&err);
            eprintln!("zkq: error: {}", exit::one_line(&err));
            code
        }
    };
    std::process::exit(code as i32);
}

/// Logs go to stderr, filtered by `ZKQ_LOG` (e.g. `ZKQ_LOG=debug`); default: warnings only.
/// `ZKQ_LOG_FORMAT=json` writes one JSON object per event (time, level, message, fields) for
/// log collectors; anything else, human-readable lines.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZKQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    if std::env::var("ZKQ_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
