// Prime-field arithmetic over 8 × 32-bit limbs in Montgomery form (R = 2^256), for any prime
// p < 2^254 described by a parameter struct (see bn254_constants.cuh). Values are kept fully
// reduced (< p) after every operation, the same representation arkworks keeps in memory, so
// limbs move between host and device without conversion.
//
// Multiplication is CIOS Montgomery multiplication: Koç, Acar, Kaliski, "Analyzing and
// Comparing Montgomery Multiplication Algorithms", IEEE Micro 16(3), 1996, §4 (CIOS). Two
// implementations of the limb loops: a portable one (64-bit intermediate products, used on the
// host and, with ZKQ_PORTABLE_CARRY, on the GPU) and a PTX one (mad.lo/madc.hi carry chains, the
// even/odd split of products used by the GPU MSM literature). The host tests cover the portable
// one against arkworks; only a GPU run covers the PTX one (see kernels/src/cuda/mod.rs).
#pragma once
#include "../common.cuh"

template <class P>
struct Fp {
    u32 l[8];

    ZKQ_HD static Fp zero() {
        Fp r;
        ZKQ_UNROLL
        for (int i = 0; i < 8; i++) r.l[i] = 0;
        return r;
    }
    ZKQ_HD static Fp one() {
        Fp r;
        r.l[0] = P::ONE0; r.l[1] = P::ONE1; r.l[2] = P::ONE2; r.l[3] = P::ONE3;
        r.l[4] = P::ONE4; r.l[5] = P::ONE5; r.l[6] = P::ONE6; r.l[7] = P::ONE7;
        return r;
    }
    ZKQ_HD static Fp modulus() {
        Fp r;
        r.l[0] = P::M0; r.l[1] = P::M1; r.l[2] = P::M2; r.l[3] = P::M3;
        r.l[4] = P::M4; r.l[5] = P::M5; r.l[6] = P::M6; r.l[7] = P::M7;
        return r;
    }
    ZKQ_HD bool is_zero() const {
        u32 acc = 0;
        ZKQ_UNROLL
        for (int i = 0; i < 8; i++) acc |= l[i];
        return acc == 0;
    }
    ZKQ_HD bool operator==(const Fp& o) const {
        u32 acc = 0;
        ZKQ_UNROLL
        for (int i = 0; i < 8; i++) acc |= l[i] ^ o.l[i];
        return acc == 0;
    }
};

// a >= b as 256-bit integers.
template <class P>
ZKQ_HD bool fp_geq(const Fp<P>& a, const Fp<P>& b) {
    ZKQ_UNROLL
    for (int i = 7; i >= 0; i--) {
        if (a.l[i] != b.l[i]) return a.l[i] > b.l[i];
    }
    return true;
}

// r = a - b (mod 2^256), returns the borrow.
template <class P>
ZKQ_HD u32 fp_sub_raw(Fp<P>& r, const Fp<P>& a, const Fp<P>& b) {
#if ZKQ_PTX
    asm volatile("sub.cc.u32 %0, %1, %2;" : "=r"(r.l[0]) : "r"(a.l[0]), "r"(b.l[0]));
    ZKQ_UNROLL
    for (int i = 1; i < 8; i++) asm volatile("subc.cc.u32 %0, %1, %2;" : "=r"(r.l[i]) : "r"(a.l[i]), "r"(b.l[i]));
    u32 borrow;
    asm volatile("subc.u32 %0, 0, 0;" : "=r"(borrow));
    return borrow & 1;
#else
    u64 borrow = 0;
    for (int i = 0; i < 8; i++) {
        u64 d = (u64)a.l[i] - (u64)b.l[i] - borrow;
        r.l[i] = (u32)d;
        borrow = (d >> 63) & 1;
    }
    return (u32)borrow;
#endif
}

// r = a + b (mod 2^256), returns the carry.
template <class P>
ZKQ_HD u32 fp_add_raw(Fp<P>& r, const Fp<P>& a, const Fp<P>& b) {
#if ZKQ_PTX
    asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(r.l[0]) : "r"(a.l[0]), "r"(b.l[0]));
    ZKQ_UNROLL
    for (int i = 1; i < 8; i++) asm volatile("addc.cc.u32 %0, %1, %2;" : "=r"(r.l[i]) : "r"(a.l[i]), "r"(b.l[i]));
    u32 carry;
    asm volatile("addc.u32 %0, 0, 0;" : "=r"(carry));
    return carry;
#else
    u64 carry = 0;
    for (int i = 0; i < 8; i++) {
        u64 s = (u64)a.l[i] + (u64)b.l[i] + carry;
        r.l[i] = (u32)s;
        carry = s >> 32;
    }
    return (u32)carry;
#endif
}

// Subtracts p once if r >= p. Valid for r < 2p (p < 2^254 leaves room for 2p < 2^256).
template <class P>
ZKQ_HD void fp_reduce_once(Fp<P>& r) {
    Fp<P> t;
    u32 borrow = fp_sub_raw(t, r, Fp<P>::modulus());
    if (!borrow) r = t;
}

template <class P>
ZKQ_HD Fp<P> fp_add(const Fp<P>& a, const Fp<P>& b) {
    Fp<P> r;
    fp_add_raw(r, a, b);
    fp_reduce_once(r);
    return r;
}

template <class P>
ZKQ_HD Fp<P> fp_sub(const Fp<P>& a, const Fp<P>& b) {
    Fp<P> r;
    if (fp_sub_raw(r, a, b)) {
        Fp<P> t;
        fp_add_raw(t, r, Fp<P>::modulus());
        r = t;
    }
    return r;
}

template <class P>
ZKQ_HD Fp<P> fp_neg(const Fp<P>& a) {
    if (a.is_zero()) return a;
    Fp<P> r;
    fp_sub_raw(r, Fp<P>::modulus(), a);
    return r;
}

template <class P>
ZKQ_HD Fp<P> fp_double(const Fp<P>& a) { return fp_add(a, a); }

#if ZKQ_PTX
// t[0..9] += x · y over two carry chains: low halves of the products into t[j], high halves into
// t[j+1] (the even/odd split of the product rows).
ZKQ_HD void fp_mac_row_ptx(u32* t, const u32* x, u32 y) {
    asm volatile("mad.lo.cc.u32 %0, %1, %2, %0;" : "+r"(t[0]) : "r"(x[0]), "r"(y));
    ZKQ_UNROLL
    for (int j = 1; j < 8; j++) asm volatile("madc.lo.cc.u32 %0, %1, %2, %0;" : "+r"(t[j]) : "r"(x[j]), "r"(y));
    asm volatile("addc.cc.u32 %0, %0, 0;" : "+r"(t[8]));
    asm volatile("addc.u32 %0, %0, 0;" : "+r"(t[9]));
    asm volatile("mad.hi.cc.u32 %0, %1, %2, %0;" : "+r"(t[1]) : "r"(x[0]), "r"(y));
    ZKQ_UNROLL
    for (int j = 1; j < 8; j++) asm volatile("madc.hi.cc.u32 %0, %1, %2, %0;" : "+r"(t[j + 1]) : "r"(x[j]), "r"(y));
    asm volatile("addc.u32 %0, %0, 0;" : "+r"(t[9]));
}
#endif

// Montgomery product a·b·R^-1 mod p (CIOS, Koç–Acar–Kaliski 1996). Inputs < p, output < p.
// Since p < 2^254, the running value t stays below 2p < 2^255 between rounds, so nine words
// (t[0..8]) suffice and t[8] is at most 1 bit.
template <class P>
ZKQ_HD Fp<P> fp_mul(const Fp<P>& a, const Fp<P>& b) {
    const Fp<P> m = Fp<P>::modulus();
    u32 t[10];
    ZKQ_UNROLL
    for (int i = 0; i < 10; i++) t[i] = 0;
#if ZKQ_PTX
    ZKQ_UNROLL
    for (int i = 0; i < 8; i++) {
        // t[0..9] += a · b_i; m = t_0 · (−p⁻¹) mod 2^32; t += m · p (which zeroes t_0); shift.
        fp_mac_row_ptx(t, a.l, b.l[i]);
        const u32 mq = t[0] * P::INV;
        fp_mac_row_ptx(t, m.l, mq);
        ZKQ_UNROLL
        for (int j = 0; j < 9; j++) t[j] = t[j + 1];
        t[9] = 0;
    }
#else
    for (int i = 0; i < 8; i++) {
        u64 c = 0;
        for (int j = 0; j < 8; j++) {
            u64 s = (u64)t[j] + (u64)a.l[j] * b.l[i] + c;
            t[j] = (u32)s;
            c = s >> 32;
        }
        u64 s8 = (u64)t[8] + c;
        t[8] = (u32)s8;
        t[9] = (u32)(s8 >> 32);
        const u32 mq = t[0] * P::INV;
        c = ((u64)t[0] + (u64)mq * m.l[0]) >> 32;
        for (int j = 1; j < 8; j++) {
            u64 s = (u64)t[j] + (u64)mq * m.l[j] + c;
            t[j - 1] = (u32)s;
            c = s >> 32;
        }
        s8 = (u64)t[8] + c;
        t[7] = (u32)s8;
        t[8] = t[9] + (u32)(s8 >> 32);
        t[9] = 0;
    }
#endif
    Fp<P> r;
    ZKQ_UNROLL
    for (int i = 0; i < 8; i++) r.l[i] = t[i];
    fp_reduce_once(r);
    return r;
}

template <class P>
ZKQ_HD Fp<P> fp_sqr(const Fp<P>& a) { return fp_mul(a, a); }

// a · R^-1: from Montgomery form to the plain integer (multiplication by the integer 1).
template <class P>
ZKQ_HD Fp<P> fp_from_montgomery(const Fp<P>& a) {
    Fp<P> one_plain = Fp<P>::zero();
    one_plain.l[0] = 1;
    return fp_mul(a, one_plain);
}

// Bit `i` (0 = least significant) of a plain (non-Montgomery) value.
template <class P>
ZKQ_HD u32 fp_bits(const Fp<P>& a, u32 lo, u32 count) {
    // count <= 32; reads up to two limbs
    const u32 word = lo >> 5, shift = lo & 31;
    u64 v = word < 8 ? (u64)a.l[word] : 0;
    if (word + 1 < 8) v |= (u64)a.l[word + 1] << 32;
    v >>= shift;
    return count >= 32 ? (u32)v : (u32)(v & ((1ull << count) - 1));
}

#include "bn254_constants.cuh"
typedef Fp<Bn254FqParams> fq_t;
typedef Fp<Bn254FrParams> fr_t;
