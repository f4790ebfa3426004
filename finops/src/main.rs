//! zkq-finops binary.
fn main() {}
