#![no_main]
//! Any JSON text → the three snarkjs JSON parsers: never panic; errors are one line.

use libfuzzer_sys::fuzz_target;
use zkq_engine::json;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    common::check("fuzz.json", json::proof_from_json("fuzz.json", &v));
    common::check("fuzz.json", json::public_from_json("fuzz.json", &v));
    common::check("fuzz.json", json::verifying_key_from_json("fuzz.json", &v));
});
