// Thread numbering shared by every entry point. Large launches are split over two dispatch
// dimensions (WebGPU caps each at `max_compute_workgroups_per_dimension`, 65535 by default);
// `thread_index` flattens them back.

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    // Every dispatch has one workgroup in z, so this is 0 — but the compiler cannot know it.
    opaque_zero = nwg.z - 1u;
    return gid.y * nwg.x * WG_SIZE + gid.x;
}

// Zero, opaque to the shader compiler. Loop bounds and array indices written `n + ROLL` become
// `n + opaque_zero` (an opaque index also stops Mesa guessing the trip count from array sizes)
// on adapters that are CPUs (lavapipe), where the loop then stays a loop: Mesa inlines every
// call and unrolls every constant-count loop, and the fully unrolled curve formulas took minutes
// to compile. lavapipe (gallivm) also silently stops an invocation's loops after 65,535
// iterations in total, so bucket runs are capped on CPU adapters (see msm_buckets.wgsl). On GPUs `ROLL` is `0u` and the driver's compiler unrolls as usual. Set by
// `thread_index`, which every entry point using field arithmetic calls first.
var<private> opaque_zero: u32 = 0u;

// True when a CPU adapter's loop limiter has run out in this invocation. lavapipe (gallivm)
// counts the iterations of every non-unrolled loop of an invocation against one budget of
// 65,535 (`LP_MAX_TGSI_LOOP_ITERATIONS`, "shared between every loop" in Mesa's
// gallivm/lp_bld_limits.h) and, once it is spent, ends every loop after its current iteration
// — silently. A two-iteration probe loop run after the real work then counts 1 instead of 2,
// so kernels call this last and flag the result instead of returning a partial sum. On GPUs
// (`ROLL` = 0) the probe unrolls to the constant 2.
fn loop_limit_hit() -> bool {
    var count = 0u;
    for (var i = 0u; i < 2u + ROLL; i++) {
        count += 1u;
    }
    return count != 2u;
}
