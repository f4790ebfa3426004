// Radix-2 NTT over BN254's scalar field, one dispatch per stage (the first, simple GPU design):
// a bit-reversal permutation, then log2(n) Cooley–Tukey butterfly stages (decimation in time,
// bit-reversed input → natural output; Cormen et al., "Introduction to Algorithms", 3rd ed.,
// §30.3), then a point-wise scale that applies 1/n and coset powers. A batch of equal-size
// vectors lies back to back in `data`; one dispatch transforms all of them.
//
// Needs: bigint, a multiply layer, field (fr_).

struct NttParams {
    // Transform length n = 2^log_n.
    n: u32,
    log_n: u32,
    // Butterfly half-width h of this stage (1, 2, 4, …, n/2).
    half: u32,
    // Threads this dispatch runs (elements or butterflies, over the whole batch).
    total: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
// Stage twiddles ω^j (j < n/2) for `butterfly`; per-element factors for `scale`.
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<uniform> params: NttParams;
// The second buffer of a cross-buffer butterfly (`butterfly_cross`); a one-word placeholder
// for the other entry points.
@group(0) @binding(3) var<storage, read_write> data2: array<u32>;

fn load(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k++) {
        r[k] = data[i * 8u + k];
    }
    return r;
}

fn store(i: u32, v_in: Big) {
    var v = v_in;
    for (var k = 0u; k < 8u; k++) {
        data[i * 8u + k] = v[k];
    }
}

fn load2(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k++) {
        r[k] = data2[i * 8u + k];
    }
    return r;
}

fn store2(i: u32, v_in: Big) {
    var v = v_in;
    for (var k = 0u; k < 8u; k++) {
        data2[i * 8u + k] = v[k];
    }
}

fn load_table(i: u32) -> Big {
    var r: Big;
    for (var k = 0u; k < 8u; k++) {
        r[k] = table[i * 8u + k];
    }
    return r;
}

@compute @workgroup_size(WG_SIZE)
fn bit_reverse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params.total || params.log_n == 0u) {
        return;
    }
    let v = t / params.n;
    let i = t % params.n;
    let j = reverseBits(i) >> (32u - params.log_n);
    if (i < j) {
        let a = load(v * params.n + i);
        let b = load(v * params.n + j);
        store(v * params.n + i, b);
        store(v * params.n + j, a);
    }
}

@compute @workgroup_size(WG_SIZE)
fn butterfly(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params.total) {
        return;
    }
    let half_n = params.n / 2u;
    let h = params.half;
    let v = t / half_n;
    let k = t % half_n;
    let pos = k % h;
    let i0 = v * params.n + (k / h) * 2u * h + pos;
    let i1 = i0 + h;
    let w = load_table(pos * (half_n / h));
    let u = load(i0);
    let x = fr_mul(load(i1), w);
    store(i0, fr_add(u, x));
    store(i1, fr_sub(u, x));
}

@compute @workgroup_size(WG_SIZE)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params.total) {
        return;
    }
    store(t, fr_mul(load(t), load_table(t % params.n)));
}

// One radix-2 butterfly stage whose pairs lie in two different buffers, for a vector split
// over several bindings (see ntt.rs): element p of `data` pairs with element p of `data2`,
// twiddle `table[p]`; `total` elements per buffer.
@compute @workgroup_size(WG_SIZE)
fn butterfly_cross(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = thread_index(gid, nwg);
    if (t >= params.total) {
        return;
    }
    let u = load(t);
    let x = fr_mul(load2(t), load_table(t));
    store(t, fr_add(u, x));
    store2(t, fr_sub(u, x));
}
