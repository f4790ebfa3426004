// BN254 G1 (y² = x³ + 3 over Fq) in XYZZ coordinates: (X, Y, ZZ, ZZZ) stands for the affine
// point (X/ZZ, Y/ZZZ) with ZZ³ = ZZZ²; ZZ = 0 is the point at infinity. Bases are affine; the
// affine encoding of infinity is x = y = 0, which is not on the curve (b = 3 ≠ 0).
//
// Formulas (a = 0), from the Explicit-Formulas Database, "XYZZ coordinates for short Weierstrass
// curves", https://hyperelliptic.org/EFD/g1p/auto-shortw-xyzz.html:
//   madd-2008-s (XYZZ + affine, 8M + 2S), add-2008-s (XYZZ + XYZZ, 12M + 2S),
//   dbl-2008-s-1 (2 · XYZZ).
// The exceptional cases the formulas do not cover (an operand at infinity, P + P, P + (−P)) are
// branched on explicitly: MSM buckets see all of them (repeated bases, P and −P in one bucket).
#pragma once
#include "../ff/field.cuh"

struct g1_affine_t {
    fq_t x, y;
    ZKQ_HD bool is_infinity() const { return x.is_zero() && y.is_zero(); }
};

struct g1_xyzz_t {
    fq_t x, y, zz, zzz;

    ZKQ_HD static g1_xyzz_t infinity() {
        g1_xyzz_t r;
        r.x = fq_t::zero(); r.y = fq_t::zero(); r.zz = fq_t::zero(); r.zzz = fq_t::zero();
        return r;
    }
    ZKQ_HD bool is_infinity() const { return zz.is_zero(); }
    ZKQ_HD static g1_xyzz_t from_affine(const g1_affine_t& p) {
        if (p.is_infinity()) return infinity();
        g1_xyzz_t r;
        r.x = p.x; r.y = p.y; r.zz = fq_t::one(); r.zzz = fq_t::one();
        return r;
    }
};

ZKQ_HD g1_affine_t g1_affine_neg(const g1_affine_t& p) {
    if (p.is_infinity()) return p;
    g1_affine_t r;
    r.x = p.x;
    r.y = fp_neg(p.y);
    return r;
}

// dbl-2008-s-1: 2·P in XYZZ.
ZKQ_HD g1_xyzz_t g1_double(const g1_xyzz_t& p) {
    if (p.is_infinity()) return p;
    const fq_t u = fp_double(p.y);
    const fq_t v = fp_sqr(u);
    const fq_t w = fp_mul(u, v);
    const fq_t s = fp_mul(p.x, v);
    const fq_t xx = fp_sqr(p.x);
    const fq_t m = fp_add(fp_double(xx), xx);
    g1_xyzz_t r;
    r.x = fp_sub(fp_sub(fp_sqr(m), s), s);
    r.y = fp_sub(fp_mul(m, fp_sub(s, r.x)), fp_mul(w, p.y));
    r.zz = fp_mul(v, p.zz);
    r.zzz = fp_mul(w, p.zzz);
    return r;
}

// 2·(x, y) for an affine point: dbl-2008-s-1 with ZZ = ZZZ = 1 (mdbl-2008-s-1 saves two
// multiplications by one; this case is rare — a bucket adding a point to itself).
ZKQ_HD g1_xyzz_t g1_double_affine(const g1_affine_t& p) { return g1_double(g1_xyzz_t::from_affine(p)); }

// madd-2008-s: P + Q with Q affine.
ZKQ_HD g1_xyzz_t g1_add_affine(const g1_xyzz_t& p, const g1_affine_t& q) {
    if (q.is_infinity()) return p;
    if (p.is_infinity()) return g1_xyzz_t::from_affine(q);
    const fq_t u2 = fp_mul(q.x, p.zz);
    const fq_t s2 = fp_mul(q.y, p.zzz);
    const fq_t pp_ = fp_sub(u2, p.x);
    const fq_t rr = fp_sub(s2, p.y);
    if (pp_.is_zero()) {
        if (rr.is_zero()) return g1_double_affine(q);  // P == Q
        return g1_xyzz_t::infinity();                  // P == −Q
    }
    const fq_t pp = fp_sqr(pp_);
    const fq_t ppp = fp_mul(pp_, pp);
    const fq_t q_ = fp_mul(p.x, pp);
    g1_xyzz_t r;
    r.x = fp_sub(fp_sub(fp_sub(fp_sqr(rr), ppp), q_), q_);
    r.y = fp_sub(fp_mul(rr, fp_sub(q_, r.x)), fp_mul(p.y, ppp));
    r.zz = fp_mul(p.zz, pp);
    r.zzz = fp_mul(p.zzz, ppp);
    return r;
}

// add-2008-s: P + Q, both XYZZ.
ZKQ_HD g1_xyzz_t g1_add(const g1_xyzz_t& p, const g1_xyzz_t& q) {
    if (q.is_infinity()) return p;
    if (p.is_infinity()) return q;
    const fq_t u1 = fp_mul(p.x, q.zz);
    const fq_t u2 = fp_mul(q.x, p.zz);
    const fq_t s1 = fp_mul(p.y, q.zzz);
    const fq_t s2 = fp_mul(q.y, p.zzz);
    const fq_t pp_ = fp_sub(u2, u1);
    const fq_t rr = fp_sub(s2, s1);
    if (pp_.is_zero()) {
        if (rr.is_zero()) return g1_double(p);
        return g1_xyzz_t::infinity();
    }
    const fq_t pp = fp_sqr(pp_);
    const fq_t ppp = fp_mul(pp_, pp);
    const fq_t q_ = fp_mul(u1, pp);
    g1_xyzz_t r;
    r.x = fp_sub(fp_sub(fp_sub(fp_sqr(rr), ppp), q_), q_);
    r.y = fp_sub(fp_mul(rr, fp_sub(q_, r.x)), fp_mul(s1, ppp));
    r.zz = fp_mul(fp_mul(p.zz, q.zz), pp);
    r.zzz = fp_mul(fp_mul(p.zzz, q.zzz), ppp);
    return r;
}

// k·P by double-and-add over the low `bits` bits of k (used for the reduction's segment offsets,
// where k < 2^32).
ZKQ_HD g1_xyzz_t g1_mul_small(const g1_xyzz_t& p, u32 k, u32 bits) {
    g1_xyzz_t acc = g1_xyzz_t::infinity();
    for (int i = (int)bits - 1; i >= 0; i--) {
        acc = g1_double(acc);
        if ((k >> i) & 1u) acc = g1_add(acc, p);
    }
    return acc;
}
