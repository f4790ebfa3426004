// Groth16 glue: the element-wise step between the NTTs of the circom QAP (see
// engine/src/qap.rs): on the odd coset, h_i = a_i · b_i − c_i.
#pragma once
#include "../ff/field.cuh"

// Element-wise Groth16 glue: h_i = a_i · b_i − c_i (the QAP quotient's numerator on the coset).
ZKQ_HD void groth16_ab_minus_c_body(u32 i, u32 n, const fr_t* a, const fr_t* b, const fr_t* c, fr_t* out) {
    if (i < n) out[i] = fp_sub(fp_mul(a[i], b[i]), c[i]);
}
