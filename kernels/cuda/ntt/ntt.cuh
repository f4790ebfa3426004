// Radix-2 decimation-in-frequency NTT over Fr (Gentleman–Sande butterflies), natural-order input,
// natural-order output without a standalone bit-reversal pass: the last pass writes each element
// straight to its bit-reversed position. Coset and inverse scalings are fused into the first
// load (x_i · g^i for a forward coset transform) and the final store (· n^−1, or · n^−1 · g^−i for
// an inverse coset transform), so no separate scaling pass either.
//
// Stage with butterfly half-span h (h = n/2, n/4, …, 1): for every block of 2h elements and
// j < h,  (u, v) ← (u + v, (u − v) · ω_2h^j)  with ω_2h = ω^(n/2h), read from one table
// tw[k] = ω^k, k < n/2 (Cooley–Tukey 1965; the DIF form as in Chu & George, "Inside the FFT
// Black Box", 2000, ch. 4). After all stages, x[bitrev(i)] holds X_i.
//
// Kernels: stages with h ≥ TILE run as one global-memory pass each (one thread per butterfly);
// the remaining log2(TILE) stages run in shared memory on TILE-element tiles, which then store
// bit-reversed (to a second buffer: the scattered store is not in place). Bodies are per-thread
// functions so the host test harness runs the same code.
#pragma once
#include "../ff/field.cuh"

ZKQ_HD u32 ntt_bitrev(u32 x, u32 log_n) {
    if (log_n == 0) return 0;
#if defined(__CUDA_ARCH__)
    return __brev(x) >> (32 - log_n);
#else
    u32 r = 0;
    for (u32 i = 0; i < log_n; i++) r |= ((x >> i) & 1u) << (log_n - 1 - i);
    return r;
#endif
}

ZKQ_HD void ntt_butterfly(fr_t& u, fr_t& v, const fr_t& w) {
    const fr_t sum = fp_add(u, v);
    v = fp_mul(fp_sub(u, v), w);
    u = sum;
}

// One global stage: butterfly b < n/2. `pre` (nullable, first stage only) multiplies the inputs.
ZKQ_HD void ntt_global_stage_body(u32 b, fr_t* x, u32 n, u32 h, const fr_t* tw, const fr_t* pre) {
    if (b >= n / 2) return;
    const u32 j = b % h;
    const u32 i0 = (b / h) * 2 * h + j, i1 = i0 + h;
    fr_t u = x[i0], v = x[i1];
    if (pre) {
        u = fp_mul(u, pre[i0]);
        v = fp_mul(v, pre[i1]);
    }
    ntt_butterfly(u, v, tw[j * (n / (2 * h))]);
    x[i0] = u;
    x[i1] = v;
}

// Shared-memory tail, per tile of `tile` elements starting at `base` (thread t < tile/2):
// load (with `pre` when no global stage ran), stages h = h_first … 1, then the bit-reversed store.
ZKQ_HD void ntt_tile_load(u32 t, fr_t* smem, const fr_t* x, u32 base, u32 tile, const fr_t* pre) {
    for (u32 k = t; k < tile; k += tile / 2) {
        fr_t v = x[base + k];
        if (pre) v = fp_mul(v, pre[base + k]);
        smem[k] = v;
    }
}
ZKQ_HD void ntt_tile_stage(u32 t, fr_t* smem, u32 n, u32 h, const fr_t* tw) {
    const u32 j = t % h;
    const u32 i0 = (t / h) * 2 * h + j, i1 = i0 + h;
    fr_t u = smem[i0], v = smem[i1];
    ntt_butterfly(u, v, tw[j * (n / (2 * h))]);
    smem[i0] = u;
    smem[i1] = v;
}
// `post` (nullable) is indexed by the OUTPUT position; `post_const` (nullable) multiplies all.
ZKQ_HD void ntt_tile_store(u32 t, const fr_t* smem, fr_t* out, u32 base, u32 tile, u32 log_n, const fr_t* post,
                           const fr_t* post_const) {
    for (u32 k = t; k < tile; k += tile / 2) {
        const u32 o = ntt_bitrev(base + k, log_n);
        fr_t v = smem[k];
        if (post) v = fp_mul(v, post[o]);
        if (post_const) v = fp_mul(v, *post_const);
        out[o] = v;
    }
}

