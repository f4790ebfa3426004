//! `zkq backends`.

use serde_json::json;
use zkq_kernels::{open_backend, BackendConfig, BackendKind};

use crate::cli::Format;
use crate::exit::ExitCode;

pub(super) fn list(format: Format) -> anyhow::Result<ExitCode> {
    let rows: Vec<(BackendKind, Result<String, String>)> = BackendKind::ALL
        .iter()
        .map(|&kind| {
            let status = open_backend(&BackendConfig { kind, ..Default::default() })
                .map(|b| b.device_name())
                .map_err(|e| e.to_string());
            (kind, status)
        })
        .collect();
    match format {
        Format::Text => {
            for (kind, status) in &rows {
                match status {
                    Ok(device) => println!("{kind:<5} available    {device}"),
                    Err(why) => println!("{kind:<5} unavailable  {why}"),
                }
            }
        }
        Format::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|(kind, s)| match s {
                    Ok(device) => json!({"backend": kind.as_str(), "available": true, "device": device}),
                    Err(why) => json!({"backend": kind.as_str(), "available": false, "reason": why}),
                })
                .collect();
            println!("{}", serde_json::Value::Array(v));
        }
    }
    Ok(ExitCode::Ok)
}
