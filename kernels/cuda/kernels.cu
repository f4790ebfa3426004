// The __global__ entry points NVRTC compiles (kernels/src/cuda/compile.rs assembles this file and
// the headers it includes into one translation unit). Each kernel is a thin wrapper that maps its
// thread to the per-thread body the host tests also run; all launches come from
// kernels/src/cuda/backend.rs.
#include "msm/pippenger.cuh"
#include "ntt/ntt.cuh"
#include "groth16/glue.cuh"

#define ZKQ_TID (blockIdx.x * blockDim.x + threadIdx.x)

extern "C" __global__ void zkq_msm_to_plain(fr_t* scalars, u32 n) { msm_to_plain_body(ZKQ_TID, scalars, n); }

extern "C" __global__ void zkq_msm_count(const fr_t* plain, msm_shape_t s, u32* counts) {
    msm_count_body(ZKQ_TID, plain, s, counts);
}

extern "C" __global__ void zkq_msm_scatter(const fr_t* plain, msm_shape_t s, u32* cursors, u32* entries) {
    msm_scatter_body(ZKQ_TID, plain, s, cursors, entries);
}

// One block of `blockDim.x` threads; `partial` in dynamic shared memory (blockDim.x words).
// `total` receives the sum of all counts.
extern "C" __global__ void zkq_scan(const u32* counts, u32 len, u32* offsets, u32* cursors, u32* total) {
    extern __shared__ u32 partial[];
    const u32 t = threadIdx.x, threads = blockDim.x;
    scan_phase1(t, threads, counts, len, partial);
    __syncthreads();
    if (t == 0) scan_phase2(threads, partial, total);
    __syncthreads();
    scan_phase3(t, threads, counts, len, partial, offsets, cursors);
}

extern "C" __global__ void zkq_msm_chunk_count(u32 total_buckets, const u32* counts, u32* chunks) {
    msm_chunk_count_body(ZKQ_TID, total_buckets, counts, chunks);
}

extern "C" __global__ void zkq_msm_accumulate_chunks(u32 total_buckets, const u32* n_chunks, const u32* offsets,
                                                     const u32* counts, const u32* chunk_offsets, const u32* entries,
                                                     const g1_affine_t* table, g1_xyzz_t* partials) {
    msm_accumulate_chunk_body(ZKQ_TID, total_buckets, n_chunks, offsets, counts, chunk_offsets, entries, table, partials);
}

extern "C" __global__ void zkq_msm_bucket_sum(u32 total_buckets, const u32* chunks, const u32* chunk_offsets,
                                              const g1_xyzz_t* partials, g1_xyzz_t* buckets) {
    msm_bucket_sum_body(ZKQ_TID, total_buckets, chunks, chunk_offsets, partials, buckets);
}

extern "C" __global__ void zkq_msm_reduce(msm_shape_t s, u32 segments, const g1_xyzz_t* buckets, g1_xyzz_t* sums,
                                          g1_xyzz_t* weighted) {
    msm_reduce_body(ZKQ_TID, s, segments, buckets, sums, weighted);
}

extern "C" __global__ void zkq_msm_finish(msm_shape_t s, u32 segments, const g1_xyzz_t* sums, g1_xyzz_t* weighted) {
    msm_finish_body(ZKQ_TID, s, segments, sums, weighted);
}

extern "C" __global__ void zkq_msm_precompute(u32 n, u32 c, u32 factor, g1_affine_t* table) {
    msm_precompute_body(ZKQ_TID, n, c, factor, table);
}

extern "C" __global__ void zkq_ntt_global_stage(fr_t* x, u32 n, u32 h, const fr_t* tw, const fr_t* pre) {
    ntt_global_stage_body(ZKQ_TID, x, n, h, tw, pre);
}

// One block per tile of 2·blockDim.x elements; the tile in dynamic shared memory.
extern "C" __global__ void zkq_ntt_tile(const fr_t* x, fr_t* out, u32 n, u32 log_n, u32 h_first, const fr_t* tw,
                                        const fr_t* pre, const fr_t* post, const fr_t* post_const) {
    extern __shared__ fr_t tile_mem[];
    const u32 t = threadIdx.x, tile = 2 * blockDim.x, base = blockIdx.x * tile;
    ntt_tile_load(t, tile_mem, x, base, tile, pre);
    __syncthreads();
    for (u32 h = h_first; h >= 1; h /= 2) {
        ntt_tile_stage(t, tile_mem, n, h, tw);
        __syncthreads();
    }
    ntt_tile_store(t, tile_mem, out, base, tile, log_n, post, post_const);
}

extern "C" __global__ void zkq_groth16_ab_minus_c(u32 n, const fr_t* a, const fr_t* b, const fr_t* c, fr_t* out) {
    groth16_ab_minus_c_body(ZKQ_TID, n, a, b, c, out);
}
