// XYZZ → affine (X/ZZ, Y/ZZZ) with one inversion.
#pragma once
#include "xyzz.cuh"
#include "../ff/inverse.cuh"

ZKQ_HD g1_affine_t g1_to_affine(const g1_xyzz_t& p) {
    g1_affine_t r;
    if (p.is_infinity()) {
        r.x = fq_t::zero();
        r.y = fq_t::zero();
        return r;
    }
    // ZZ = Z², ZZZ = Z³ for some Z, so 1/ZZ = ZZ² · ZZZ⁻² and only ZZZ is inverted.
    const fq_t zzz_inv = fp_inverse(p.zzz);
    const fq_t zz_inv = fp_mul(fp_sqr(p.zz), fp_sqr(zzz_inv));
    r.x = fp_mul(p.x, zz_inv);
    r.y = fp_mul(p.y, zzz_inv);
    return r;
}
