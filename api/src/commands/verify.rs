//! `zkq verify`.

use serde_json::json;
use zkq_engine::json as sjson;

use crate::cli::{Format, VerifyArgs};
use crate::exit::ExitCode;

pub(super) fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let vk = sjson::read_verifying_key(&args.verification_key)?;
    let public = sjson::read_public(&args.public)?;
    let proof = sjson::read_proof(&args.proof)?;
    if public.len() != vk.n_public() {
        return Err(zkq_engine::EngineError::format(
            args.public.display().to_string(),
            format!("{} public signals, but the verification key expects {}", public.len(), vk.n_public()),
        )
        .into());
    }
    let valid = zkq_engine::verify(&vk, &public, &proof)?;
    match args.format.format {
        Format::Text if valid => println!("OK: valid proof"),
        Format::Text => println!("INVALID: the proof does not verify against these public signals and key"),
        Format::Json => println!("{}", json!({"valid": valid})),
    }
    Ok(if valid { ExitCode::Ok } else { ExitCode::Invalid })
}
