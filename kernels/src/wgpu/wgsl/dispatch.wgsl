// Thread numbering shared by every entry point. Large launches are split over two dispatch
// dimensions (WebGPU caps each at `max_compute_workgroups_per_dimension`, 65535 by default);
// `thread_index` flattens them back.

fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * WG_SIZE + gid.x;
}
