//! `zkq dev setup`: the insecure development Groth16 setup ([`zkq_engine::setup`]).

use std::time::Instant;

use serde_json::json;
use zkq_engine::r1cs::R1cs;
use zkq_engine::setup::{self, ToxicWaste};

use super::secs;
use crate::cli::{DevSetupArgs, Format};
use crate::exit::ExitCode;
use crate::progress;

pub(super) fn setup(args: DevSetupArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    // Parse the seed before any work, so a typo costs nothing.
    let (waste, seeded) = match &args.seed {
        Some(hex) => (ToxicWaste::from_hex_seed(hex)?, true),
        None => (ToxicWaste::from_os()?, false),
    };
    let spinner = progress::spinner("reading r1cs");
    let r1cs = R1cs::read(&args.r1cs)?;
    let read = start.elapsed();
    spinner.set_message("dev setup (insecure)");
    let t = Instant::now();
    let shape = setup::write_zkey(&args.zkey, &r1cs, &waste)?;
    let setup_time = t.elapsed();
    spinner.finish_and_clear();
    let who = if seeded { "anyone who knows the --seed" } else { "whoever ran this process (it drew the toxic waste alone)" };
    eprintln!(
        "zkq: WARNING: INSECURE dev setup: {who} can forge proofs for {}; use it for tests and benchmarks only",
        args.zkey.display()
    );
    let total = start.elapsed();
    match args.format.format {
        Format::Text => println!(
            "wrote {}: nVars {}, nPublic {}, constraints {}, domain 2^{} ({}); setup {:.3} s, total {:.3} s (INSECURE dev key)",
            args.zkey.display(),
            shape.n_vars,
            shape.n_public,
            shape.n_constraints,
            shape.domain_size.trailing_zeros(),
            shape.domain_size,
            setup_time.as_secs_f64(),
            total.as_secs_f64()
        ),
        Format::Json => println!(
            "{}",
            json!({"zkey": args.zkey, "insecure": true, "seeded": seeded, "nVars": shape.n_vars, "nPublic": shape.n_public,
                   "constraints": shape.n_constraints, "domainSize": shape.domain_size, "read_r1cs_seconds": secs(read),
                   "setup_seconds": secs(setup_time), "total_seconds": secs(total)})
        ),
    }
    Ok(ExitCode::Ok)
}
