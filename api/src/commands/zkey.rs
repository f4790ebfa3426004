//! `zkq zkey info` and `zkq zkey export-vk`.

use std::path::Path;

use serde_json::json;
use zkq_engine::{json as sjson, zkey};

use crate::cli::Format;
use crate::exit::ExitCode;

pub(super) fn info(path: &Path, format: Format) -> anyhow::Result<ExitCode> {
    let i = zkey::info(path)?;
    match format {
        Format::Text => {
            println!("file:         {}", path.display());
            println!("curve:        {}", i.curve);
            println!("protocol:     {}", i.protocol);
            println!("nVars:        {}", i.n_vars);
            println!("nPublic:      {}", i.n_public);
            println!("constraints:  {}", i.n_constraints);
            println!("domain size:  {} (2^{})", i.domain_size, i.domain_size.trailing_zeros());
            println!("coefficients: {}", i.n_coefficients);
            println!("size:         {} bytes", i.file_size);
            println!("sha256:       {}", i.sha256);
            println!("sections:");
            for (id, size) in &i.sections {
                println!("  {id:>2} {:<15} {size:>12} bytes", zkey::describe_section(*id));
            }
        }
        Format::Json => {
            let sections: Vec<_> = i
                .sections
                .iter()
                .map(|(id, size)| json!({"id": id, "name": zkey::describe_section(*id), "bytes": size}))
                .collect();
            println!(
                "{}",
                json!({"file": path, "curve": i.curve, "protocol": i.protocol, "nVars": i.n_vars, "nPublic": i.n_public,
                       "constraints": i.n_constraints, "domainSize": i.domain_size, "coefficients": i.n_coefficients,
                       "bytes": i.file_size, "sha256": i.sha256, "sections": sections})
            );
        }
    }
    Ok(ExitCode::Ok)
}

pub(super) fn export_vk(zkey_path: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let vk = zkey::read_verifying_key(zkey_path)?;
    sjson::write_json(out, &sjson::verifying_key_to_json(&vk))?;
    Ok(ExitCode::Ok)
}
