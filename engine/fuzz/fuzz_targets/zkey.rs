#![no_main]
//! `.zkey` bytes → `zkey::parse_proving_key`: never panics; errors are one line.

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::check("fuzz.zkey", zkq_engine::zkey::parse_proving_key("fuzz.zkey", data));
});
