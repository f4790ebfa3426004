// Signed-digit Pippenger MSM over fixed G1 bases, in the shape of the GPU MSMs of ZPrize 2022/23
// (bucket assignment by sort, parallel bucket reduction, precomputed multiples of fixed bases).
//
// Notation: n bases P_i, scalars s_i (plain integers < r < 2^254), window width c, w windows with
// signed digits d_ij ∈ [−2^(c−1), 2^(c−1)] so that s_i = Σ_j d_ij · 2^(cj) (Booth-style recoding:
// a window value above 2^(c−1) becomes value − 2^c and carries 1 into the next window).
// Precomputation factor F (1 ≤ F ≤ w): the table holds T_k·P_i = 2^(ck)·P_i for k < F, so window j
// uses table entry (j mod F) and bucket group g = j div F. With F = w all windows share ONE set of
// 2^(c−1) buckets and one reduction; with F = 1 this is textbook Pippenger. The caller combines
// the groups: Σ_g 2^(cFg) · R_g.
//
// Stages (one kernel each; the bodies below are per-thread functions so the host test harness
// runs the very same code thread by thread):
//   1. to_plain        s_i ← s_i · R^−1 (scalars arrive in Montgomery form)
//   2. count           histogram of bucket ids over all (i, j) with d_ij ≠ 0
//   3. scan            exclusive prefix sum of the histogram (bucket offsets)
//   4. scatter         entry (table index, sign) written into its bucket's slot range — the
//                      counting sort that groups each bucket's points contiguously
//   5. accumulate      buckets are cut into chunks of at most MSM_CHUNK entries (a scan of
//                      the per-bucket chunk counts); one thread per chunk sums its points
//                      (XYZZ += ±affine), then one thread per bucket sums its chunks — so a
//                      bucket holding most of the points (circom witnesses are full of ones,
//                      which all land in bucket 1) does not serialise the whole MSM
//   6. reduce          per group, T segments of the bucket range; each thread forms its
//                      segment's running sums (Σ_k k·B_k needs only additions)
//   7. finish          segment t's weighted sum + (t·L)·(segment sum), a small scalar multiple
// and the host adds the G·T finished points.
#pragma once
#include "../ec/affine.cuh"

#if ZKQ_CUDA
#define ZKQ_ATOMIC_ADD(ptr, v) atomicAdd((ptr), (v))
#else
ZKQ_HD u32 zkq_host_atomic_add(u32* p, u32 v) { u32 old = *p; *p = old + v; return old; }
#define ZKQ_ATOMIC_ADD(ptr, v) zkq_host_atomic_add((ptr), (v))
#endif

// Bit 31 of an entry is the sign (1 = negate the point); the rest is the table index.
#define MSM_SIGN_BIT 0x80000000u

struct msm_shape_t {
    u32 n;        // bases (and scalars per MSM)
    u32 c;        // window bits (digits are signed, |d| ≤ 2^(c−1))
    u32 windows;  // w
    u32 factor;   // F, precomputed multiples per base
    u32 groups;   // ceil(w / F)
    u32 buckets;  // per group: 2^(c−1)
};

// Signed digit of window j given the carry from window j−1; updates the carry.
ZKQ_HD i32 msm_signed_digit(const fr_t& plain, u32 j, u32 c, u32& carry) {
    u32 v = fp_bits(plain, j * c, c) + carry;
    const u32 half = 1u << (c - 1);
    if (v > half) {
        carry = 1;
        return (i32)v - (i32)(1u << c);
    }
    carry = 0;
    return (i32)v;
}

ZKQ_HD void msm_to_plain_body(u32 i, fr_t* scalars, u32 n) {
    if (i < n) scalars[i] = fp_from_montgomery(scalars[i]);
}

// Calls f(bucket, table index, negative) for every non-zero signed digit of scalar i.
template <class F>
ZKQ_HD void msm_for_each_digit(u32 i, const fr_t* plain, const msm_shape_t& s, F f) {
    u32 carry = 0;
    for (u32 j = 0; j < s.windows; j++) {
        const i32 d = msm_signed_digit(plain[i], j, s.c, carry);
        if (d == 0) continue;
        const u32 mag = d < 0 ? (u32)(-d) : (u32)d;
        f((j / s.factor) * s.buckets + mag - 1, (j % s.factor) * s.n + i, d < 0);
    }
}

ZKQ_HD void msm_count_body(u32 i, const fr_t* plain, msm_shape_t s, u32* counts) {
    if (i >= s.n) return;
    msm_for_each_digit(i, plain, s, [&](u32 bucket, u32, bool) { ZKQ_ATOMIC_ADD(&counts[bucket], 1u); });
}

ZKQ_HD void msm_scatter_body(u32 i, const fr_t* plain, msm_shape_t s, u32* cursors, u32* entries) {
    if (i >= s.n) return;
    msm_for_each_digit(i, plain, s, [&](u32 bucket, u32 index, bool negative) {
        const u32 slot = ZKQ_ATOMIC_ADD(&cursors[bucket], 1u);
        entries[slot] = index | (negative ? MSM_SIGN_BIT : 0u);
    });
}

// Entries one accumulation thread sums (the load-balancing unit of stage 5).
#define MSM_CHUNK 64u

ZKQ_HD void msm_chunk_count_body(u32 b, u32 total_buckets, const u32* counts, u32* chunks) {
    if (b < total_buckets) chunks[b] = (counts[b] + MSM_CHUNK - 1) / MSM_CHUNK;
}

// Exclusive scan of `len` counts by `threads` threads in three phases (the kernel runs them in
// one block with barriers between): chunk sums, a serial scan of the chunk sums, chunk prefixes.
ZKQ_HD void scan_phase1(u32 t, u32 threads, const u32* counts, u32 len, u32* partial) {
    const u32 chunk = (len + threads - 1) / threads;
    u32 sum = 0;
    for (u32 k = t * chunk; k < len && k < (t + 1) * chunk; k++) sum += counts[k];
    partial[t] = sum;
}
ZKQ_HD void scan_phase2(u32 threads, u32* partial, u32* total) {
    u32 run = 0;
    for (u32 t = 0; t < threads; t++) {
        const u32 v = partial[t];
        partial[t] = run;
        run += v;
    }
    *total = run;
}
ZKQ_HD void scan_phase3(u32 t, u32 threads, const u32* counts, u32 len, const u32* partial, u32* offsets, u32* cursors) {
    const u32 chunk = (len + threads - 1) / threads;
    u32 run = partial[t];
    for (u32 k = t * chunk; k < len && k < (t + 1) * chunk; k++) {
        offsets[k] = run;
        cursors[k] = run;
        run += counts[k];
    }
}

// Thread per chunk `k` (k < *n_chunks): its bucket is the last b with chunk_offsets[b] ≤ k
// (buckets without chunks share their successor's offset, so the last one is the bucket that
// owns chunk k); it sums entries [offsets[b] + j·CHUNK, …) of that bucket, j = k − chunk_offsets[b].
ZKQ_HD void msm_accumulate_chunk_body(u32 k, u32 total_buckets, const u32* n_chunks, const u32* offsets,
                                      const u32* counts, const u32* chunk_offsets, const u32* entries,
                                      const g1_affine_t* table, g1_xyzz_t* partials) {
    if (k >= *n_chunks) return;
    u32 lo = 0, hi = total_buckets;  // upper_bound(chunk_offsets, k) by bisection
    while (lo < hi) {
        const u32 mid = lo + (hi - lo) / 2;
        if (chunk_offsets[mid] <= k) lo = mid + 1;
        else hi = mid;
    }
    const u32 b = lo - 1;
    const u32 j = k - chunk_offsets[b];
    const u32 start = offsets[b] + j * MSM_CHUNK;
    const u32 bucket_end = offsets[b] + counts[b];
    const u32 end = start + MSM_CHUNK < bucket_end ? start + MSM_CHUNK : bucket_end;
    g1_xyzz_t acc = g1_xyzz_t::infinity();
    for (u32 e = start; e < end; e++) {
        const u32 entry = entries[e];
        const g1_affine_t p = table[entry & ~MSM_SIGN_BIT];
        acc = g1_add_affine(acc, (entry & MSM_SIGN_BIT) ? g1_affine_neg(p) : p);
    }
    partials[k] = acc;
}

// Thread per bucket: the sum of its chunks' partial sums.
ZKQ_HD void msm_bucket_sum_body(u32 b, u32 total_buckets, const u32* chunks, const u32* chunk_offsets,
                                const g1_xyzz_t* partials, g1_xyzz_t* buckets) {
    if (b >= total_buckets) return;
    g1_xyzz_t acc = g1_xyzz_t::infinity();
    for (u32 k = chunk_offsets[b]; k < chunk_offsets[b] + chunks[b]; k++) acc = g1_add(acc, partials[k]);
    buckets[b] = acc;
}

// Thread (g, t) of `segments` per group: buckets k = t·L + 1 … (t+1)·L of group g (bucket k holds
// the points whose digit magnitude is k). Walking down with a running sum gives
//   sums[g·T + t]     = Σ_k B_k
//   weighted[g·T + t] = Σ_k (k − t·L) · B_k
// so that Σ_k k·B_k over the group = Σ_t weighted_t + t·L·sums_t (the finish stage).
ZKQ_HD void msm_reduce_body(u32 idx, msm_shape_t s, u32 segments, const g1_xyzz_t* buckets, g1_xyzz_t* sums,
                            g1_xyzz_t* weighted) {
    if (idx >= s.groups * segments) return;
    const u32 g = idx / segments, t = idx % segments;
    const u32 len = s.buckets / segments;
    g1_xyzz_t run = g1_xyzz_t::infinity(), acc = g1_xyzz_t::infinity();
    for (u32 k = (t + 1) * len; k > t * len; k--) {
        run = g1_add(run, buckets[g * s.buckets + k - 1]);
        acc = g1_add(acc, run);
    }
    sums[idx] = run;
    weighted[idx] = acc;
}

ZKQ_HD void msm_finish_body(u32 idx, msm_shape_t s, u32 segments, const g1_xyzz_t* sums, g1_xyzz_t* weighted) {
    if (idx >= s.groups * segments) return;
    const u32 t = idx % segments;
    const u32 offset = t * (s.buckets / segments);
    weighted[idx] = g1_add(weighted[idx], g1_mul_small(sums[idx], offset, s.c));
}

// table[k·n + i] = 2^(c·k) · table[i] for k = 1 … F−1, one thread per base (serial in k).
ZKQ_HD void msm_precompute_body(u32 i, u32 n, u32 c, u32 factor, g1_affine_t* table) {
    if (i >= n) return;
    for (u32 k = 1; k < factor; k++) {
        g1_xyzz_t p = g1_xyzz_t::from_affine(table[(k - 1) * n + i]);
        for (u32 d = 0; d < c; d++) p = g1_double(p);
        table[k * n + i] = g1_to_affine(p);
    }
}
