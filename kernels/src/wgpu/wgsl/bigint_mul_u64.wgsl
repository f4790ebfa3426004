// Fast 32 × 32 → 64-bit multiply-accumulate using 64-bit integers (wgpu's SHADER_INT64:
// Vulkan, Metal, DX12; not browsers).

// acc + a·b + c as (low word, high word). (2^32 − 1)^2 + 2·(2^32 − 1) = 2^64 − 1: no overflow.
fn mac(acc: u32, a: u32, b: u32, c: u32) -> vec2<u32> {
    let r = u64(a) * u64(b) + u64(acc) + u64(c);
    return vec2<u32>(u32(r & u64(0xffffffffu)), u32(r >> 32u));
}
