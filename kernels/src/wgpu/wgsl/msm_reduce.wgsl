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
// Non-zero when a CPU adapter's loop limiter cut an invocation short (see `loop_limit_hit`).
@group(0) @binding(4) var<storage, read_write> overflow: array<atomic<u32>>;

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

// Both entry points run their additions through ONE `CC_add` call site inside a loop (a small
// state machine picks the operands and the destination of each step), so the pipeline holds one
// inlined copy of the addition: compile time on lavapipe is set by the number of inlined field
// multiplies (see curve.wgsl).

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
    // Step 2i: running += S_{L−1−i}; step 2i + 1: sum += running.
    for (var k = 0u; k < 2u * params.seg_len; k++) {
        let even = (k & 1u) == 0u;
        var a = sum;
        var b = running;
        if (even) {
            a = running;
            b = load_bucket(first + params.seg_len - 1u - k / 2u);
        }
        let r = CC_add(a, b);
        if (even) {
            running = r;
        } else {
            sum = r;
        }
    }
    if (loop_limit_hit()) {
        atomicMax(&overflow[0], 1u);
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
    let g = params.segments;
    var weighted = CC_identity();
    var running = CC_identity();
    var tail = CC_identity();
    var result = CC_identity();
    // For s = G … 1 (segment t = first + s − 1), three steps: weighted += W_t; running += T_t
    // and tail += running (both only for s > 1, else adding the identity); then log₂L
    // doublings of tail (complete addition: tail + tail); then result = weighted + tail.
    let steps = 3u * g + params.log_seg_len + 1u;
    for (var k = 0u; k < steps; k++) {
        var a = tail;
        var b = CC_identity();
        var dst = 2u;
        if (k < 3u * g) {
            let s = g - k / 3u;
            let seg = first + s - 1u;
            let phase = k % 3u;
            if (phase == 0u) {
                a = weighted;
                b = load_seg(2u * seg);
                dst = 0u;
            } else if (phase == 1u) {
                a = running;
                if (s > 1u) {
                    b = load_seg(2u * seg + 1u);
                }
                dst = 1u;
            } else if (s > 1u) {
                b = running;
            }
        } else if (k < 3u * g + params.log_seg_len) {
            b = tail;
        } else {
            a = weighted;
            b = tail;
            dst = 3u;
        }
        let r = CC_add(a, b);
        if (dst == 0u) {
            weighted = r;
        } else if (dst == 1u) {
            running = r;
        } else if (dst == 2u) {
            tail = r;
        } else {
            result = r;
        }
    }
    if (loop_limit_hit()) {
        atomicMax(&overflow[0], 1u);
    }
    store_window(params.first_window + w, result);
}
