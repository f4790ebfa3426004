// MSM stage 4: bucket reduction, window sum Σ_{b=1..B} b·S_b, in parallel by running sums over
// segments. Window w's B buckets (bucket b at position b − 1) are cut into G segments of
// length L = B/G. Then
//   Σ_b b·S_b = Σ_t W_t + L · Σ_t t·T_t,   W_t = Σ_{j<L} (j+1)·S_{tL+j},   T_t = Σ_{j<L} S_{tL+j},
// `segment_sums` computes every (W_t, T_t) with the running-sum trick (one thread per segment),
// `window_sums` combines a window's segments with a second running sum and log2(L) doublings.
// The caller finishes on the CPU with Horner's rule over the window sums (≈ 255 doublings), as
// Derei and Koh do (ZPrize 2023).
//
// Needs: bigint, a multiply layer, the coordinate field(s), curve (CC_), dispatch.

struct ReduceParams {
    // Buckets per window (B), segments per window (G), segment length L = 2^log_seg_len.
    buckets: u32,
    segments: u32,
    seg_len: u32,
    log_seg_len: u32,
    // Windows in this chunk and the global index of its first.
    windows: u32,
    first_window: u32,
}

@group(0) @binding(0) var<storage, read> buckets: array<u32>;
@group(0) @binding(1) var<storage, read_write> segs: array<u32>;
@group(0) @binding(2) var<storage, read_write> window_out: array<u32>;
@group(0) @binding(3) var<uniform> params: ReduceParams;

const POINT_WORDS: u32 = 3u * CF_WORDS;

fn load_coord_from_buckets(slot: u32) -> CF {
    var w: array<u32, CF_WORDS>;
    for (var k = 0u; k < CF_WORDS; k++) {
        w[k] = buckets[slot * CF_WORDS + k];
    }
    return cf_from_words(w);
}

fn load_bucket(i: u32) -> CC_Proj {
    return CC_Proj(load_coord_from_buckets(3u * i), load_coord_from_buckets(3u * i + 1u), load_coord_from_buckets(3u * i + 2u));
}

fn load_seg_coord(slot: u32) -> CF {
    var w: array<u32, CF_WORDS>;
    for (var k = 0u; k < CF_WORDS; k++) {
        w[k] = segs[slot * CF_WORDS + k];
    }
    return cf_from_words(w);
}

fn load_seg(i: u32) -> CC_Proj {
    return CC_Proj(load_seg_coord(3u * i), load_seg_coord(3u * i + 1u), load_seg_coord(3u * i + 2u));
}

fn store_seg(i: u32, p: CC_Proj) {
    var x = cf_to_words(p.x);
    var y = cf_to_words(p.y);
    var z = cf_to_words(p.z);
    for (var k = 0u; k < CF_WORDS; k++) {
        segs[i * POINT_WORDS + k] = x[k];
        segs[i * POINT_WORDS + CF_WORDS + k] = y[k];
        segs[i * POINT_WORDS + 2u * CF_WORDS + k] = z[k];
    }
}

fn store_window(i: u32, p: CC_Proj) {
    var x = cf_to_words(p.x);
    var y = cf_to_words(p.y);
    var z = cf_to_words(p.z);
    for (var k = 0u; k < CF_WORDS; k++) {
        window_out[i * POINT_WORDS + k] = x[k];
        window_out[i * POINT_WORDS + CF_WORDS + k] = y[k];
        window_out[i * POINT_WORDS + 2u * CF_WORDS + k] = z[k];
    }
}

@compute @workgroup_size(WG_SIZE)
fn segment_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params.windows * params.segments) {
        return;
    }
    let w = t / params.segments;
    let s = t % params.segments;
    let first = w * params.buckets + s * params.seg_len;
    var running = CC_identity();
    var sum = CC_identity();
    for (var j = params.seg_len; j > 0u; j--) {
        running = CC_add(running, load_bucket(first + j - 1u));
        sum = CC_add(sum, running);
    }
    store_seg(2u * t, sum);
    store_seg(2u * t + 1u, running);
}

@compute @workgroup_size(WG_SIZE)
fn window_sums(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = thread_index(gid, nwg);
    if (w >= params.windows) {
        return;
    }
    let first = w * params.segments;
    var weighted = CC_identity();
    var running = CC_identity();
    var tail = CC_identity();
    for (var s = params.segments; s > 0u; s--) {
        let t = first + s - 1u;
        weighted = CC_add(weighted, load_seg(2u * t));
        if (s > 1u) {
            running = CC_add(running, load_seg(2u * t + 1u));
            tail = CC_add(tail, running);
        }
    }
    for (var k = 0u; k < params.log_seg_len; k++) {
        tail = CC_double(tail);
    }
    store_window(params.first_window + w, CC_add(weighted, tail));
}
