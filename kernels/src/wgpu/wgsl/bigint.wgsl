// Big integers: 256-bit values as eight little-endian u32 limbs, with the carry and borrow
// primitives every field operation is built from. WGSL has no carry flag: a carry out of
// `a + b` is `a + b < a`.
//
// The 32 × 32 → 64-bit multiply-accumulate `mac` comes from one of two layers, picked at run time
// from the adapter's features: `bigint_mul_u64.wgsl` (SHADER_INT64) or `bigint_mul_u32.wgsl`
// (portable, 16-bit halves; the only one browsers can run).

alias Big = array<u32, 8>;

// Limb count of `Big`.
const BIG_LIMBS: u32 = 8u;

// A 256-bit value and a carry (or borrow) out of its top limb.
struct BigCarry {
    v: Big,
    c: u32,
}

// a + b + c for limbs, returned as (sum, carry out ∈ {0, 1}).
fn adc(a: u32, b: u32, c: u32) -> vec2<u32> {
    let s = a + b;
    let c1 = select(0u, 1u, s < a);
    let s2 = s + c;
    let c2 = select(0u, 1u, s2 < s);
    return vec2<u32>(s2, c1 + c2);
}

// a − b − borrow for limbs, returned as (difference, borrow out ∈ {0, 1}).
fn sbb(a: u32, b: u32, borrow: u32) -> vec2<u32> {
    let d = a - b;
    let b1 = select(0u, 1u, a < b);
    let d2 = d - borrow;
    let b2 = select(0u, 1u, d < borrow);
    return vec2<u32>(d2, b1 + b2);
}

fn big_add(a_in: Big, b_in: Big) -> BigCarry {
    var a = a_in;
    var b = b_in;
    var r: Big;
    var c = 0u;
    for (var i = 0u; i < BIG_LIMBS; i++) {
        let s = adc(a[i], b[i], c);
        r[i] = s.x;
        c = s.y;
    }
    return BigCarry(r, c);
}

fn big_sub(a_in: Big, b_in: Big) -> BigCarry {
    var a = a_in;
    var b = b_in;
    var r: Big;
    var borrow = 0u;
    for (var i = 0u; i < BIG_LIMBS; i++) {
        let d = sbb(a[i], b[i], borrow);
        r[i] = d.x;
        borrow = d.y;
    }
    return BigCarry(r, borrow);
}

fn big_is_zero(a_in: Big) -> bool {
    var a = a_in;
    var acc = 0u;
    for (var i = 0u; i < BIG_LIMBS; i++) {
        acc = acc | a[i];
    }
    return acc == 0u;
}
