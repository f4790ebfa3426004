// BN254's quadratic extension Fq2 = Fq[u]/(u² − β) with β = −1 (arkworks' `Fq2Config::NONRESIDUE`,
// checked when the constants are generated). Elements are c0 + c1·u with both coefficients in
// Montgomery form. Multiplication is Karatsuba (3 base-field multiplies): Devegili, Ó hÉigeartaigh,
// Scott, Dahab, "Multiplication and Squaring on Pairing-Friendly Fields", 2006, §3.

struct Fq2 {
    c0: Big,
    c1: Big,
}

fn fq2_zero() -> Fq2 {
    return Fq2(fq_zero(), fq_zero());
}

fn fq2_one() -> Fq2 {
    return Fq2(fq_one(), fq_zero());
}

fn fq2_add(a: Fq2, b: Fq2) -> Fq2 {
    return Fq2(fq_add(a.c0, b.c0), fq_add(a.c1, b.c1));
}

fn fq2_sub(a: Fq2, b: Fq2) -> Fq2 {
    return Fq2(fq_sub(a.c0, b.c0), fq_sub(a.c1, b.c1));
}

fn fq2_neg(a: Fq2) -> Fq2 {
    return Fq2(fq_neg(a.c0), fq_neg(a.c1));
}

fn fq2_double(a: Fq2) -> Fq2 {
    return fq2_add(a, a);
}

fn fq2_is_zero(a: Fq2) -> bool {
    return fq_is_zero(a.c0) && fq_is_zero(a.c1);
}

// (a0 + a1 u)(b0 + b1 u) = (a0 b0 − a1 b1) + ((a0 + a1)(b0 + b1) − a0 b0 − a1 b1) u, as β = −1.
// The three products run in one loop so drivers keep one inlined copy of `fq_mul` (see
// `CC_mul_batch` in curve.wgsl).
fn fq2_mul(a: Fq2, b: Fq2) -> Fq2 {
    var l = array<Big, 3>(a.c0, a.c1, fq_add(a.c0, a.c1));
    var r = array<Big, 3>(b.c0, b.c1, fq_add(b.c0, b.c1));
    var m: array<Big, 3>;
    for (var k = 0u; k < 3u + ROLL; k++) {
        let i = k + ROLL;
        m[i] = fq_mul(l[i], r[i]);
    }
    return Fq2(fq_sub(m[0], m[1]), fq_sub(fq_sub(m[2], m[0]), m[1]));
}

fn fq2_square(a: Fq2) -> Fq2 {
    return fq2_mul(a, a);
}

fn fq2_from_words(w_in: array<u32, 16>) -> Fq2 {
    var w = w_in;
    var c0: Big;
    var c1: Big;
    for (var i = 0u; i < 8u; i++) {
        c0[i] = w[i];
        c1[i] = w[i + 8u];
    }
    return Fq2(c0, c1);
}

fn fq2_to_words(a_in: Fq2) -> array<u32, 16> {
    var a = a_in;
    var w: array<u32, 16>;
    for (var i = 0u; i < 8u; i++) {
        w[i] = a.c0[i];
        w[i + 8u] = a.c1[i];
    }
    return w;
}
