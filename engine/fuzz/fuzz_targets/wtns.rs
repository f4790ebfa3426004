#![no_main]
//! `.wtns` bytes → `Witness::parse` (then the shape checks): never panics; errors are one line.

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let r = zkq_engine::Witness::parse("fuzz.wtns", data);
    if let Ok(w) = &r {
        let _ = w.public_signals(7);
        common::check("fuzz.wtns", w.check_shape(w.values.len()));
    }
    common::check("fuzz.wtns", r);
});
