// MSM stage 3: bucket accumulation. One thread per bucket adds its points (negated where the
// digit was negative) with mixed addition into a projective accumulator. Buckets are contiguous
// runs of `entries` thanks to the counting sort, so no atomics and no conflicts.
//
// Needs: bigint, a multiply layer, the coordinate field(s), curve (CC_), dispatch.

struct BucketParams {
    // Buckets in this window chunk.
    keys: u32,
    // The longest bucket one invocation may add up (0: no limit). CPU adapters (lavapipe)
    // stop an invocation's loops after 65,535 iterations; a longer bucket there raises
    // `overflow` instead of silently returning a partial sum, and the host redoes the MSM.
    max_run: u32,
}

@group(0) @binding(0) var<storage, read> bases_x: array<u32>;
@group(0) @binding(1) var<storage, read> bases_y: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> ends: array<u32>;
@group(0) @binding(4) var<storage, read> entries: array<u32>;
@group(0) @binding(5) var<storage, read_write> buckets: array<u32>;
@group(0) @binding(6) var<uniform> params: BucketParams;
@group(0) @binding(7) var<storage, read_write> overflow: array<atomic<u32>>;

fn load_base(i: u32) -> CC_Aff {
    var wx: array<u32, CF_WORDS>;
    var wy: array<u32, CF_WORDS>;
    for (var k = 0u; k < CF_WORDS; k++) {
        wx[k] = bases_x[i * CF_WORDS + k];
        wy[k] = bases_y[i * CF_WORDS + k];
    }
    return CC_Aff(cf_from_words(wx), cf_from_words(wy));
}

fn store_coord(slot: u32, v: CF) {
    var w = cf_to_words(v);
    for (var k = 0u; k < CF_WORDS; k++) {
        buckets[slot * CF_WORDS + k] = w[k];
    }
}

@compute @workgroup_size(WG_SIZE)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let key = thread_index(gid, nwg);
    if (key >= params.keys) {
        return;
    }
    if (params.max_run != 0u && ends[key] - offsets[key] > params.max_run) {
        atomicMax(&overflow[0], ends[key] - offsets[key]);
        return;
    }
    var acc = CC_identity();
    for (var e = offsets[key]; e < ends[key]; e++) {
        let entry = entries[e];
        var p = load_base(entry >> 1u);
        if ((entry & 1u) != 0u) {
            p = CC_neg_aff(p);
        }
        acc = CC_add_mixed(acc, p);
    }
    if (loop_limit_hit()) {
        atomicMax(&overflow[0], max(ends[key] - offsets[key], 1u));
    }
    store_coord(3u * key, acc.x);
    store_coord(3u * key + 1u, acc.y);
    store_coord(3u * key + 2u, acc.z);
}
