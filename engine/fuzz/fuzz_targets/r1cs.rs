#![no_main]
//! `.r1cs` bytes → `R1cs::parse`: never panics; errors are one line.

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check("fuzz.r1cs", zkq_engine::r1cs::R1cs::parse("fuzz.r1cs", data));
});
