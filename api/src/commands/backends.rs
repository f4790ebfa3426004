//! `zkq backends`: every backend zkq knows, whether this machine can run it, and — for the
//! WebGPU backend — every adapter the drivers expose (name, type, API, driver, features,
//! limits, the arithmetic path zkq would use).

use serde_json::{json, Value};
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
    let adapters = adapters();
    match format {
        Format::Text => {
            for (kind, status) in &rows {
                match status {
                    Ok(device) => println!("{kind:<5} available    {device}"),
                    Err(why) => println!("{kind:<5} unavailable  {why}"),
                }
            }
            if let Some(adapters) = &adapters {
                println!();
                if adapters.is_empty() {
                    println!("wgpu adapters: none (no Vulkan/Metal driver found)");
                } else {
                    println!("wgpu adapters:");
                }
                for a in adapters {
                    print_adapter(a);
                }
            }
        }
        Format::Json => {
            let v: Vec<Value> = rows
                .iter()
                .map(|(kind, s)| {
                    let mut row = match s {
                        Ok(device) => json!({"backend": kind.as_str(), "available": true, "device": device}),
                        Err(why) => json!({"backend": kind.as_str(), "available": false, "reason": why}),
                    };
                    if let (BackendKind::Wgpu, Some(adapters)) = (kind, &adapters) {
                        row["adapters"] = Value::Array(adapters.clone());
                    }
                    row
                })
                .collect();
            println!("{}", Value::Array(v));
        }
    }
    Ok(ExitCode::Ok)
}

#[cfg(feature = "wgpu")]
fn adapters() -> Option<Vec<Value>> {
    Some(
        zkq_kernels::wgpu::list_adapters()
            .into_iter()
            .map(|a| {
                let limits: serde_json::Map<String, Value> =
                    a.limits.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect();
                json!({
                    "name": a.name,
                    "type": a.device_type,
                    "api": a.api,
                    "driver": a.driver,
                    "features": a.features,
                    "limits": limits,
                    "arithmetic": a.arithmetic.map(|x| x.as_str()),
                    "unusable": a.unusable,
                })
            })
            .collect(),
    )
}

#[cfg(not(feature = "wgpu"))]
fn adapters() -> Option<Vec<Value>> {
    None
}

fn print_adapter(a: &Value) {
    let s = |k: &str| a[k].as_str().unwrap_or("-").to_string();
    println!("  {}  type {}  api {}  driver {}", s("name"), s("type"), s("api"), s("driver"));
    let features: Vec<&str> = a["features"].as_array().map(|f| f.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    println!("    features: {}", if features.is_empty() { "none of SHADER_INT64, SUBGROUP".to_string() } else { features.join(", ") });
    match (a["arithmetic"].as_str(), a["unusable"].as_str()) {
        (_, Some(why)) => println!("    unusable: {why}"),
        (Some(arith), None) => println!("    arithmetic: {arith}"),
        _ => {}
    }
    if let Some(limits) = a["limits"].as_object() {
        for (k, v) in limits {
            println!("    {k} = {v}");
        }
    }
}
