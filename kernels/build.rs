//! Builds the host side of the CUDA sources for the test suite (feature `cuda`): the field,
//! curve, MSM and NTT headers under `cuda/` compiled as plain C++ into a static library that
//! `zkq_kernels::cuda::host` calls, so the arithmetic is checked against arkworks without a GPU.
//! Nothing here needs a CUDA toolkit.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_none() {
        return;
    }
    for dir in ["cuda", "cuda/ff", "cuda/ec", "cuda/msm", "cuda/ntt", "cuda/groth16", "cuda/host"] {
        println!("cargo:rerun-if-changed={dir}");
    }
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .warnings(true)
        .extra_warnings(true)
        .file("cuda/host/harness.cpp")
        .compile("zkq_cuda_host");
}
