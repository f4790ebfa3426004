// MSM stage 2: exclusive prefix sum of the bucket sizes → each bucket's first slot, in one
// workgroup: every thread sums a contiguous run serially, the 256 run totals are scanned in
// workgroup memory (Hillis–Steele, "Data parallel algorithms", CACM 29(12), 1986), then each
// thread writes its run's offsets. Offsets go to `offsets` (kept) and `cursor` (advanced by
// `scatter`, ending at each bucket's end).

struct ScanParams {
    len: u32,
}

@group(0) @binding(0) var<storage, read> counts: array<u32>;
@group(0) @binding(1) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(2) var<storage, read_write> cursor: array<u32>;
@group(0) @binding(3) var<uniform> params: ScanParams;

const SCAN_THREADS: u32 = 256u;
var<workgroup> sums: array<u32, 256>;

@compute @workgroup_size(256)
fn scan(@builtin(local_invocation_id) lid: vec3<u32>) {
    let me = lid.x;
    let per = (params.len + SCAN_THREADS - 1u) / SCAN_THREADS;
    let start = min(me * per, params.len);
    let end = min(start + per, params.len);
    var s = 0u;
    for (var i = start; i < end; i++) {
        s += counts[i];
    }
    sums[me] = s;
    workgroupBarrier();
    for (var off = 1u; off < SCAN_THREADS; off *= 2u) {
        var v = 0u;
        if (me >= off) {
            v = sums[me - off];
        }
        workgroupBarrier();
        sums[me] += v;
        workgroupBarrier();
    }
    var run = 0u;
    if (me > 0u) {
        run = sums[me - 1u];
    }
    for (var i = start; i < end; i++) {
        offsets[i] = run;
        cursor[i] = run;
        run += counts[i];
    }
}
