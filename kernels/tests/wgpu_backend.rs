//! The generic backend equivalence checkers, instantiated for the WebGPU backend on both
//! arithmetic paths. On CI the adapter is Mesa lavapipe (Vulkan on the CPU).
//!
//! Without an adapter these tests FAIL (a CI machine without its driver must not pass
//! silently). A user without a GPU driver can run `ZKQ_WGPU_TESTS=skip cargo test` to skip this
//! file with a message.

use std::sync::OnceLock;

use zkq_kernels::wgpu::Arithmetic;
use zkq_kernels::{WgpuBackend, WgpuOptions};

/// One backend per arithmetic path, shared by the tests (compiling the kernels is the slow part).
fn shared(arith: Arithmetic) -> &'static WgpuBackend {
    static INT64: OnceLock<WgpuBackend> = OnceLock::new();
    static PORTABLE: OnceLock<WgpuBackend> = OnceLock::new();
    let cell = match arith {
        Arithmetic::Int64 => &INT64,
        Arithmetic::Portable32 => &PORTABLE,
    };
    cell.get_or_init(|| match WgpuBackend::new(WgpuOptions { arithmetic: Some(arith), ..Default::default() }) {
        Ok(b) => b,
        Err(e) if std::env::var("ZKQ_WGPU_TESTS").as_deref() == Ok("skip") => {
            eprintln!("wgpu backend tests skipped (ZKQ_WGPU_TESTS=skip): {e}");
            // Skips this test binary only; every other test binary still runs.
            std::process::exit(0);
        }
        Err(e) => panic!(
            "no usable WebGPU adapter for the {} path: {e}. Install one (Debian: apt-get install \
             mesa-vulkan-drivers libvulkan1) or set ZKQ_WGPU_TESTS=skip",
            arith.as_str()
        ),
    })
}

mod int64 {
    use super::*;
    zkq_kernels::testing::backend_equivalence_tests!(*shared(Arithmetic::Int64));

    #[test]
    fn uses_the_int64_path() {
        assert_eq!(shared(Arithmetic::Int64).arithmetic(), Arithmetic::Int64);
    }
}

mod portable32 {
    use super::*;
    zkq_kernels::testing::backend_equivalence_tests!(*shared(Arithmetic::Portable32));

    #[test]
    fn uses_the_portable_path() {
        assert_eq!(shared(Arithmetic::Portable32).arithmetic(), Arithmetic::Portable32);
    }
}
