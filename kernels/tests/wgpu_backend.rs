//! The generic backend equivalence checkers, instantiated for the WebGPU backend on both
//! arithmetic paths, with device G2, and with a binding cap of a few KiB so every split path
//! runs (MSM base chunks, window groups and result read-backs; NTT sub-transforms and
//! cross-buffer stages). On CI the adapter is Mesa lavapipe (Vulkan on the CPU).
//!
//! Without an adapter these tests FAIL (a CI machine without its driver must not pass
//! silently). A user without a GPU driver can run `ZKQ_WGPU_TESTS=skip cargo test` to skip this
//! file with a message.

use std::sync::OnceLock;

use zkq_kernels::wgpu::Arithmetic;
use zkq_kernels::{G2Placement, WgpuBackend, WgpuOptions};

/// The binding cap of the split suite: 4 KiB holds 128 scalars or G1 points and 64 G2 points,
/// so the MSM sizes 1000, 1024, 1025 (G1) and 300 (G2) run in 8–9 and 5 chunks, and NTTs from
/// 2^8 up run as 2 … 256 sub-transforms (2^7 = 4 KiB fits; 2^15 is 256 blocks of 128).
const SPLIT_CAP: u64 = 4096;

/// The backend configurations under test; each is opened once and shared by its tests
/// (compiling the kernels is the slow part).
#[derive(Clone, Copy)]
enum Config {
    Int64,
    Portable32,
    /// Int64, device G2, [`SPLIT_CAP`].
    Split,
    /// Portable32, device G2.
    G2DevicePortable32,
}

fn shared(config: Config) -> &'static WgpuBackend {
    static CELLS: [OnceLock<WgpuBackend>; 4] = [const { OnceLock::new() }; 4];
    let (index, options) = match config {
        Config::Int64 => (0, WgpuOptions { arithmetic: Some(Arithmetic::Int64), ..Default::default() }),
        Config::Portable32 => (1, WgpuOptions { arithmetic: Some(Arithmetic::Portable32), ..Default::default() }),
        Config::Split => (
            2,
            WgpuOptions {
                arithmetic: Some(Arithmetic::Int64),
                g2: Some(G2Placement::Device),
                max_binding_bytes: Some(SPLIT_CAP),
            },
        ),
        Config::G2DevicePortable32 => (
            3,
            WgpuOptions {
                arithmetic: Some(Arithmetic::Portable32),
                g2: Some(G2Placement::Device),
                ..Default::default()
            },
        ),
    };
    CELLS[index].get_or_init(|| match WgpuBackend::new(options) {
        Ok(b) => b,
        Err(e) if std::env::var("ZKQ_WGPU_TESTS").as_deref() == Ok("skip") => {
            eprintln!("wgpu backend tests skipped (ZKQ_WGPU_TESTS=skip): {e}");
            // Skips this test binary only; every other test binary still runs.
            std::process::exit(0);
        }
        Err(e) => panic!(
            "no usable WebGPU adapter for {options:?}: {e}. Install one (Debian: apt-get install \
             mesa-vulkan-drivers libvulkan1) or set ZKQ_WGPU_TESTS=skip"
        ),
    })
}

mod int64 {
    use super::*;
    zkq_kernels::testing::backend_equivalence_tests!(*shared(Config::Int64));

    #[test]
    fn uses_the_int64_path() {
        assert_eq!(shared(Config::Int64).arithmetic(), Arithmetic::Int64);
    }
}

mod portable32 {
    use super::*;
    zkq_kernels::testing::backend_equivalence_tests!(*shared(Config::Portable32));

    #[test]
    fn uses_the_portable_path() {
        assert_eq!(shared(Config::Portable32).arithmetic(), Arithmetic::Portable32);
    }
}

/// Every checker with bindings capped at [`SPLIT_CAP`] and G2 on the device (int64 path).
mod split {
    use super::*;
    zkq_kernels::testing::backend_equivalence_tests!(*shared(Config::Split));

    #[test]
    fn runs_g2_on_the_device() {
        assert_eq!(shared(Config::Split).g2_placement(), G2Placement::Device);
    }
}

/// Device G2 on the portable path, unsplit (the split suite covers the int64 path).
mod g2_device_portable32 {
    use super::*;

    #[test]
    fn msm_g2_matches_reference() {
        zkq_kernels::testing::check_msm_g2(shared(Config::G2DevicePortable32));
    }
}
