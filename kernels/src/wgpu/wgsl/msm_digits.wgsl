// MSM stage 1: signed window digits and bucket grouping by counting sort (the CSR "transpose" of
// cuZK: Lu et al., "cuZK: Accelerating Zero-Knowledge Proof with A Faster Parallel Multi-Scalar
// Multiplication Algorithm on GPUs", TCHES 2023(3); used for WebGPU by Derei and Koh, ZPrize 2023).
//
// Digits. With c-bit windows, digit w of scalar s is
//   d_w = raw_w + bit(wc − 1) − 2^c · bit(wc + c − 1),    raw_w = bits [wc, wc + c) of s,
// a signed recoding (each window's top bit is borrowed by the next window) whose digits satisfy
// |d_w| ≤ 2^(c−1) and Σ d_w 2^(wc) = s once the windows cover 255 bits (s < 2^254). Every digit
// is computed on its own — no carry chain — so windows can be processed in any order or chunk.
// A digit's sign selects ±P, its magnitude the bucket: 2^(c−1) buckets per window.
//
// Entry points: `from_mont` (scalars to canonical integers, in place), `count` (bucket sizes,
// atomics), `scatter` (point indices into their bucket's slot; order inside a bucket is
// irrelevant since addition commutes).
//
// Needs: bigint, a multiply layer, field (fr_), dispatch.

struct DigitParams {
    // Scalars (and bases) in this MSM.
    n: u32,
    // Window width c in bits.
    c: u32,
    // First window of this chunk and how many windows it has.
    first_window: u32,
    windows: u32,
    // Buckets per window, 2^(c−1).
    buckets: u32,
}

@group(0) @binding(0) var<storage, read_write> scalars: array<u32>;
// 1 where the base is the identity: those terms contribute nothing and are skipped.
@group(0) @binding(1) var<storage, read> skip: array<u32>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> cursor: array<atomic<u32>>;
// (point index << 1) | negate, grouped by bucket.
@group(0) @binding(4) var<storage, read_write> entries: array<u32>;
@group(0) @binding(5) var<uniform> params: DigitParams;

// Bit k of scalar i (0 outside [0, 256)).
fn scalar_bit(i: u32, k: i32) -> u32 {
    if (k < 0 || k >= 256) {
        return 0u;
    }
    let ku = u32(k);
    return (scalars[i * 8u + ku / 32u] >> (ku % 32u)) & 1u;
}

// Bits [lo, lo + c) of scalar i, c ≤ 16.
fn scalar_bits(i: u32, lo: u32, c: u32) -> u32 {
    if (lo >= 256u) {
        return 0u;
    }
    let limb = lo / 32u;
    let sh = lo % 32u;
    var v = scalars[i * 8u + limb] >> sh;
    if (sh + c > 32u && limb + 1u < 8u) {
        v = v | (scalars[i * 8u + limb + 1u] << (32u - sh));
    }
    return v & ((1u << c) - 1u);
}

fn digit(i: u32, w: u32) -> i32 {
    let c = params.c;
    let raw = i32(scalar_bits(i, w * c, c));
    let carry_in = i32(scalar_bit(i, i32(w * c) - 1));
    let top = i32(scalar_bit(i, i32(w * c + c) - 1));
    return raw + carry_in - (top << c);
}

@compute @workgroup_size(WG_SIZE)
fn from_mont(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= params.n) {
        return;
    }
    var s: Big;
    for (var k = 0u; k < 8u; k++) {
        s[k] = scalars[i * 8u + k];
    }
    var r = fr_from_mont(s);
    for (var k = 0u; k < 8u; k++) {
        scalars[i * 8u + k] = r[k];
    }
}

@compute @workgroup_size(WG_SIZE)
fn count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= params.n || skip[i] != 0u) {
        return;
    }
    for (var w = 0u; w < params.windows; w++) {
        let d = digit(i, params.first_window + w);
        if (d != 0) {
            let key = w * params.buckets + u32(abs(d)) - 1u;
            atomicAdd(&counts[key], 1u);
        }
    }
}

@compute @workgroup_size(WG_SIZE)
fn scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= params.n || skip[i] != 0u) {
        return;
    }
    for (var w = 0u; w < params.windows; w++) {
        let d = digit(i, params.first_window + w);
        if (d != 0) {
            let key = w * params.buckets + u32(abs(d)) - 1u;
            let slot = atomicAdd(&cursor[key], 1u);
            entries[slot] = (i << 1u) | select(0u, 1u, d < 0);
        }
    }
}
