// A prime field in Montgomery form (R = 2^256), instantiated per field by replacing the `FF_`
// prefix (`fr_` for BN254's scalar field, `fq_` for its base field). The generated constants
// `FF_P` (modulus), `FF_INV` (−p^{−1} mod 2^32) and `FF_ONE` (R mod p) come from arkworks'
// field parameters (see `shaders.rs`).
//
// Multiplication is CIOS Montgomery multiplication: Koç, Acar, Kaliski, "Analyzing and
// Comparing Montgomery Multiplication Algorithms", IEEE Micro 16(3), 1996, §5. Both BN254 moduli
// are below 2^254, so sums of two reduced values never carry out of 256 bits and one
// conditional subtraction reduces every result.

fn FF_zero() -> Big {
    return Big(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
}

fn FF_one() -> Big {
    return FF_ONE;
}

// a − p if a ≥ p, else a (for a < 2p).
fn FF_reduce_once(a: Big) -> Big {
    let d = big_sub(a, FF_P);
    if (d.c == 0u) {
        return d.v;
    }
    return a;
}

fn FF_add(a: Big, b: Big) -> Big {
    return FF_reduce_once(big_add(a, b).v);
}

fn FF_sub(a: Big, b: Big) -> Big {
    let d = big_sub(a, b);
    if (d.c != 0u) {
        return big_add(d.v, FF_P).v;
    }
    return d.v;
}

fn FF_neg(a: Big) -> Big {
    if (big_is_zero(a)) {
        return a;
    }
    return big_sub(FF_P, a).v;
}

fn FF_double(a: Big) -> Big {
    return FF_add(a, a);
}

fn FF_is_zero(a: Big) -> bool {
    return big_is_zero(a);
}

// a·b·R^{−1} mod p (CIOS).
fn FF_mul(a_in: Big, b_in: Big) -> Big {
    var a = a_in;
    var b = b_in;
    var p = FF_P;
    var t: array<u32, 10>;
    for (var i = 0u; i < BIG_LIMBS + ROLL; i++) {
        // t += a · b[i]
        var c = 0u;
        for (var j = 0u; j < BIG_LIMBS; j++) {
            let r = mac(t[j], a[j], b[i + ROLL], c);
            t[j] = r.x;
            c = r.y;
        }
        let s = adc(t[8], c, 0u);
        t[8] = s.x;
        t[9] = s.y;
        // t = (t + m·p) / 2^32 with m chosen so the low limb vanishes.
        let m = t[0] * FF_INV;
        var r0 = mac(t[0], m, p[0], 0u);
        c = r0.y;
        for (var j = 1u; j < BIG_LIMBS; j++) {
            let r = mac(t[j], m, p[j], c);
            t[j - 1u] = r.x;
            c = r.y;
        }
        let s2 = adc(t[8], c, 0u);
        t[7] = s2.x;
        t[8] = t[9] + s2.y;
        t[9] = 0u;
    }
    var out: Big;
    for (var i = 0u; i < BIG_LIMBS; i++) {
        out[i] = t[i];
    }
    return FF_reduce_once(out);
}

fn FF_square(a: Big) -> Big {
    return FF_mul(a, a);
}

// Montgomery form → canonical integer (multiply by R^{−1}).
fn FF_from_mont(a: Big) -> Big {
    return FF_mul(a, Big(1u, 0u, 0u, 0u, 0u, 0u, 0u, 0u));
}

fn FF_from_words(w: array<u32, 8>) -> Big {
    return w;
}

fn FF_to_words(a: Big) -> array<u32, 8> {
    return a;
}
