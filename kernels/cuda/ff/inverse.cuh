// Field inversion by Fermat's little theorem: a^(p−2) = a^−1 for a ≠ 0 (0 maps to 0).
// Square-and-multiply over the bits of p − 2, most significant first.
#pragma once
#include "field.cuh"

template <class P>
ZKQ_HD Fp<P> fp_inverse(const Fp<P>& a) {
    Fp<P> e = Fp<P>::modulus();
    // e = p − 2 (p is odd and > 2, so no borrow leaves limb 0)
    e.l[0] -= 2;
    Fp<P> r = Fp<P>::one();
    for (int i = 255; i >= 0; i--) {
        r = fp_sqr(r);
        if ((e.l[i >> 5] >> (i & 31)) & 1u) r = fp_mul(r, a);
    }
    return r;
}
