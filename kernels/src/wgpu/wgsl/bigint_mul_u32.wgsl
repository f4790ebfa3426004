// Portable 32 × 32 → 64-bit multiply-accumulate for WGSL without 64-bit integers: each operand
// is split into 16-bit halves, giving four 32-bit partial products (schoolbook multiplication;
// see e.g. Knuth, TAOCP vol. 2, §4.3.1). The middle sum cannot overflow: p01 ≤ (2^16 − 1)^2 and
// the two added halves are each < 2^16.

// acc + a·b + c as (low word, high word). The result is < 2^64, so nothing is lost.
fn mac(acc: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = p01 + (p00 >> 16u) + (p10 & 0xffffu);
    let lo = (mid << 16u) | (p00 & 0xffffu);
    var hi = p11 + (mid >> 16u) + (p10 >> 16u);
    let lo1 = lo + acc;
    hi = hi + select(0u, 1u, lo1 < lo);
    let lo2 = lo1 + c;
    hi = hi + select(0u, 1u, lo2 < lo1);
    return vec2<u32>(lo2, hi);
}
