// Host harness for the CUDA sources: compiled by kernels/build.rs with the host C++ compiler and
// linked into zkq-kernels' tests. It exposes the field and curve layers, and runs the MSM and
// NTT kernels' per-thread bodies thread by thread in the order the GPU launches them (see
// kernels/src/cuda/host.rs), so CI checks the arithmetic and the index math against arkworks
// without a GPU. It does NOT cover: the PTX carry chains (ZKQ_PTX is 0 here), shared-memory
// and barrier behaviour, atomics under contention, launch geometry, streams and transfers.
#include "../msm/pippenger.cuh"
#include "../ntt/ntt.cuh"
#include "../groth16/glue.cuh"

#include <cstring>
#include <vector>

template <class T>
static T load(const u32* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}
template <class T>
static void store(u32* p, const T& v) {
    std::memcpy(p, &v, sizeof(T));
}

template <class F>
static void field_op(u32 op, const u32* a, const u32* b, u32* out) {
    const F x = load<F>(a), y = load<F>(b);
    F r = F::zero();
    switch (op) {
        case 0: r = fp_add(x, y); break;
        case 1: r = fp_sub(x, y); break;
        case 2: r = fp_mul(x, y); break;
        case 3: r = fp_neg(x); break;
        case 4: r = fp_from_montgomery(x); break;
        case 5: r = fp_inverse(x); break;
    }
    store(out, r);
}

extern "C" {

// Field: op 0 add, 1 sub, 2 mul, 3 neg (a only), 4 from_montgomery (a only), 5 inverse (a only).
// field 0 = Fq, 1 = Fr.
void zkq_host_field_op(u32 field, u32 op, const u32* a, const u32* b, u32* out) {
    if (field == 0) field_op<fq_t>(op, a, b, out);
    else field_op<fr_t>(op, a, b, out);
}

// Curve: op 0 = p + q (XYZZ + XYZZ), 1 = p + q_affine, 2 = 2p, 3 = 2·q_affine,
// 4 = to_affine(p) (writes 16 words), 5 = k·p (k = scalar, 32 bits).
void zkq_host_g1_op(u32 op, const u32* p, const u32* q, u32 k, u32* out) {
    const g1_xyzz_t a = load<g1_xyzz_t>(p);
    switch (op) {
        case 0: store(out, g1_add(a, load<g1_xyzz_t>(q))); break;
        case 1: store(out, g1_add_affine(a, load<g1_affine_t>(q))); break;
        case 2: store(out, g1_double(a)); break;
        case 3: {
            const g1_affine_t b = load<g1_affine_t>(q);
            store(out, b.is_infinity() ? g1_xyzz_t::infinity() : g1_double_affine(b));
            break;
        }
        case 4: store(out, g1_to_affine(a)); break;
        case 5: store(out, g1_mul_small(a, k, 32)); break;
    }
}

// The MSM pipeline of kernels/src/cuda/backend.rs, stage by stage. `table` holds factor·n affine
// points; entries 0..n are the bases, the rest is filled by the precompute stage when
// `precompute` is non-zero. `scalars` (n, Montgomery form) is overwritten with plain values.
// `out` receives groups·segments finished XYZZ points (the host sums them per group).
void zkq_host_msm(u32* table, u32* scalars, msm_shape_t s, u32 segments, u32 precompute, u32* out) {
    g1_affine_t* tab = reinterpret_cast<g1_affine_t*>(table);
    fr_t* sc = reinterpret_cast<fr_t*>(scalars);
    if (precompute)
        for (u32 i = 0; i < s.n; i++) msm_precompute_body(i, s.n, s.c, s.factor, tab);
    for (u32 i = 0; i < s.n; i++) msm_to_plain_body(i, sc, s.n);
    const u32 total = s.groups * s.buckets;
    std::vector<u32> counts(total, 0), offsets(total, 0), cursors(total, 0);
    for (u32 i = 0; i < s.n; i++) msm_count_body(i, sc, s, counts.data());
    const u32 threads = 64;
    std::vector<u32> partial(threads, 0);
    u32 n_entries = 0, n_chunks = 0;
    auto scan = [&](const std::vector<u32>& in, std::vector<u32>& out, std::vector<u32>& cur, u32& sum) {
        for (u32 t = 0; t < threads; t++) scan_phase1(t, threads, in.data(), total, partial.data());
        scan_phase2(threads, partial.data(), &sum);
        for (u32 t = 0; t < threads; t++) scan_phase3(t, threads, in.data(), total, partial.data(), out.data(), cur.data());
    };
    scan(counts, offsets, cursors, n_entries);
    // the device allocates windows·n entries: an upper bound the actual count must respect
    if (n_entries > s.windows * s.n) return;
    const u32 max_entries = s.windows * s.n;
    std::vector<u32> entries(max_entries > 0 ? max_entries : 1, 0);
    for (u32 i = 0; i < s.n; i++) msm_scatter_body(i, sc, s, cursors.data(), entries.data());
    std::vector<u32> chunks(total, 0), chunk_offsets(total, 0), scratch(total, 0);
    for (u32 b = 0; b < total; b++) msm_chunk_count_body(b, total, counts.data(), chunks.data());
    scan(chunks, chunk_offsets, scratch, n_chunks);
    // the device launches (windows·n / CHUNK + total) threads: an upper bound on chunks
    const u32 max_chunks = s.windows * s.n / MSM_CHUNK + total;
    if (n_chunks > max_chunks) return;
    std::vector<g1_xyzz_t> partials(max_chunks ? max_chunks : 1);
    for (u32 k = 0; k < max_chunks; k++)
        msm_accumulate_chunk_body(k, total, &n_chunks, offsets.data(), counts.data(), chunk_offsets.data(),
                                  entries.data(), tab, partials.data());
    std::vector<g1_xyzz_t> buckets(total ? total : 1);
    for (u32 b = 0; b < total; b++)
        msm_bucket_sum_body(b, total, chunks.data(), chunk_offsets.data(), partials.data(), buckets.data());
    const u32 m = s.groups * segments;
    std::vector<g1_xyzz_t> sums(m), weighted(m);
    for (u32 k = 0; k < m; k++) msm_reduce_body(k, s, segments, buckets.data(), sums.data(), weighted.data());
    for (u32 k = 0; k < m; k++) msm_finish_body(k, s, segments, sums.data(), weighted.data());
    std::memcpy(out, weighted.data(), m * sizeof(g1_xyzz_t));
}

// The NTT pipeline: global stages h = n/2 … tile (the first with `pre`), then tiles of `tile`
// elements (stages h = min(n, tile)/2 … 1, `pre` only if no global stage ran), stored
// bit-reversed into `out`. Null pointers mean "no such scaling".
void zkq_host_ntt(u32* x_words, u32* out_words, u32 log_n, u32 tile, const u32* tw_words, const u32* pre_words,
                  const u32* post_words, const u32* post_const_words) {
    fr_t* x = reinterpret_cast<fr_t*>(x_words);
    fr_t* out = reinterpret_cast<fr_t*>(out_words);
    const fr_t* tw = reinterpret_cast<const fr_t*>(tw_words);
    const fr_t* pre = reinterpret_cast<const fr_t*>(pre_words);
    const fr_t* post = reinterpret_cast<const fr_t*>(post_words);
    const fr_t* post_const = reinterpret_cast<const fr_t*>(post_const_words);
    const u32 n = 1u << log_n;
    if (tile > n) tile = n;
    bool first = true;
    for (u32 h = n / 2; h >= tile && h >= 1; h /= 2) {
        for (u32 b = 0; b < n / 2; b++) ntt_global_stage_body(b, x, n, h, tw, first ? pre : nullptr);
        first = false;
    }
    std::vector<fr_t> smem(tile);
    for (u32 base = 0; base < n; base += tile) {
        for (u32 t = 0; t < tile / 2; t++) ntt_tile_load(t, smem.data(), x, base, tile, first ? pre : nullptr);
        for (u32 h = tile / 2; h >= 1; h /= 2)
            for (u32 t = 0; t < tile / 2; t++) ntt_tile_stage(t, smem.data(), n, h, tw);
        for (u32 t = 0; t < tile / 2; t++) ntt_tile_store(t, smem.data(), out, base, tile, log_n, post, post_const);
    }
}

void zkq_host_ab_minus_c(u32 n, const u32* a, const u32* b, const u32* c, u32* out) {
    for (u32 i = 0; i < n; i++)
        groth16_ab_minus_c_body(i, n, reinterpret_cast<const fr_t*>(a), reinterpret_cast<const fr_t*>(b),
                                reinterpret_cast<const fr_t*>(c), reinterpret_cast<fr_t*>(out));
}

}  // extern "C"
