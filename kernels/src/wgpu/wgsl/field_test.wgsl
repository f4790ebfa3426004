// Test entry points for the field layers: out[i] = a[i] ∘ b[i] for the operation `params.op`
// (0 add, 1 sub, 2 mul, 3 neg a, 4 from Montgomery) in the field `TF_` (fr_ or fq_). Used only by
// the unit tests that compare every arithmetic path with arkworks.

struct TestParams {
    n: u32,
    op: u32,
}

@group(0) @binding(0) var<storage, read> a_in: array<u32>;
@group(0) @binding(1) var<storage, read> b_in: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> params: TestParams;

@compute @workgroup_size(WG_SIZE)
fn field_op(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = thread_index(gid, nwg);
    if (i >= params.n) {
        return;
    }
    var a: Big;
    var b: Big;
    for (var k = 0u; k < 8u; k++) {
        a[k] = a_in[i * 8u + k];
        b[k] = b_in[i * 8u + k];
    }
    var r: Big;
    switch params.op {
        case 0u: { r = TF_add(a, b); }
        case 1u: { r = TF_sub(a, b); }
        case 2u: { r = TF_mul(a, b); }
        case 3u: { r = TF_neg(a); }
        default: { r = TF_from_mont(a); }
    }
    for (var k = 0u; k < 8u; k++) {
        out[i * 8u + k] = r[k];
    }
}
