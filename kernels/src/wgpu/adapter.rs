//! Finding an adapter, deciding whether it can run zkq's kernels, and opening it.
//!
//! "No adapter" and "an adapter without what is needed" are typed
//! [`KernelError::Unavailable`] errors, never panics. [`list_adapters`] reports every adapter
//! this machine exposes (name, type, features, limits) for `zkq backends`.

use super::gpu::Gpu;
use super::shaders::Arithmetic;
use crate::KernelError;

/// The native backends zkq asks wgpu for: Vulkan (NVIDIA, AMD, Intel; Mesa lavapipe on CPUs)
/// and Metal (Apple). wgpu compiles in only those of the target platform.
const BACKENDS: wgpu::Backends = wgpu::Backends::VULKAN.union(wgpu::Backends::METAL);

/// Storage buffers one kernel binds at most (`msm_buckets.wgsl`).
const NEEDED_STORAGE_BUFFERS: u32 = 7;
/// Threads of the one-workgroup scan (`msm_scan.wgsl`).
const NEEDED_INVOCATIONS: u32 = 256;
/// Workgroup memory of the scan: 256 u32.
const NEEDED_WORKGROUP_STORAGE: u32 = 1024;

/// What an adapter is and can do, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterReport {
    /// Adapter name as the driver reports it (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`).
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` or `Other`.
    pub device_type: String,
    /// The native API (`Vulkan`, `Metal`).
    pub api: String,
    /// Driver and its version.
    pub driver: String,
    /// The features zkq cares about that the adapter has (`SHADER_INT64`, `SUBGROUP`).
    pub features: Vec<String>,
    /// The limits zkq's kernels depend on, by wgpu's field name.
    pub limits: Vec<(&'static str, u64)>,
    /// The arithmetic path zkq would pick, or `None` with [`AdapterReport::unusable`] set.
    pub arithmetic: Option<Arithmetic>,
    /// Why zkq cannot use this adapter, if it cannot.
    pub unusable: Option<String>,
}

/// Every adapter of this machine's Vulkan/Metal drivers (empty when there is none or no
/// loader).
pub fn list_adapters() -> Vec<AdapterReport> {
    let instance = instance();
    pollster::block_on(instance.enumerate_adapters(BACKENDS)).iter().map(report).collect()
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: BACKENDS,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

fn report(adapter: &wgpu::Adapter) -> AdapterReport {
    let info = adapter.get_info();
    let features = adapter.features();
    let limits = adapter.limits();
    let mut names = Vec::new();
    if features.contains(wgpu::Features::SHADER_INT64) {
        names.push("SHADER_INT64".to_string());
    }
    if features.contains(wgpu::Features::SUBGROUP) {
        names.push("SUBGROUP".to_string());
    }
    let unusable = missing_requirements(&limits);
    AdapterReport {
        name: info.name.clone(),
        device_type: format!("{:?}", info.device_type),
        api: format!("{:?}", info.backend),
        driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
        features: names,
        limits: vec![
            ("max_storage_buffer_binding_size", limits.max_storage_buffer_binding_size),
            ("max_buffer_size", limits.max_buffer_size),
            ("max_storage_buffers_per_shader_stage", u64::from(limits.max_storage_buffers_per_shader_stage)),
            ("max_compute_workgroup_storage_size", u64::from(limits.max_compute_workgroup_storage_size)),
            ("max_compute_invocations_per_workgroup", u64::from(limits.max_compute_invocations_per_workgroup)),
            ("max_compute_workgroups_per_dimension", u64::from(limits.max_compute_workgroups_per_dimension)),
        ],
        arithmetic: if unusable.is_some() { None } else { Some(pick_arithmetic(features, None).unwrap_or(Arithmetic::Portable32)) },
        unusable,
    }
}

/// What the kernels need that `limits` lacks, in words.
fn missing_requirements(limits: &wgpu::Limits) -> Option<String> {
    let mut missing = Vec::new();
    if limits.max_storage_buffers_per_shader_stage < NEEDED_STORAGE_BUFFERS {
        missing.push(format!(
            "{} storage buffers per stage (has {})",
            NEEDED_STORAGE_BUFFERS, limits.max_storage_buffers_per_shader_stage
        ));
    }
    if limits.max_compute_invocations_per_workgroup < NEEDED_INVOCATIONS
        || limits.max_compute_workgroup_size_x < NEEDED_INVOCATIONS
    {
        missing.push(format!("{NEEDED_INVOCATIONS} invocations per workgroup"));
    }
    if limits.max_compute_workgroup_storage_size < NEEDED_WORKGROUP_STORAGE {
        missing.push(format!("{NEEDED_WORKGROUP_STORAGE} bytes of workgroup storage"));
    }
    if missing.is_empty() {
        None
    } else {
        Some(format!("adapter lacks {}", missing.join(", ")))
    }
}

/// The arithmetic path for an adapter with `features`: the requested one if it can run, else
/// the fastest available.
fn pick_arithmetic(features: wgpu::Features, requested: Option<Arithmetic>) -> Result<Arithmetic, KernelError> {
    let int64 = features.contains(wgpu::Features::SHADER_INT64);
    match requested {
        None if int64 => Ok(Arithmetic::Int64),
        None | Some(Arithmetic::Portable32) => Ok(Arithmetic::Portable32),
        Some(Arithmetic::Int64) if int64 => Ok(Arithmetic::Int64),
        Some(Arithmetic::Int64) => Err(unavailable("the adapter lacks SHADER_INT64, which the int64 arithmetic path needs")),
    }
}

fn unavailable(reason: &str) -> KernelError {
    KernelError::Unavailable { backend: "wgpu".into(), reason: reason.into() }
}

/// Opens the highest-performance adapter and a device with everything it offers; `binding_cap`
/// lowers the per-binding limit the kernels plan with (see `WgpuOptions::max_binding_bytes`).
pub(crate) fn open(requested: Option<Arithmetic>, binding_cap: Option<u64>) -> Result<Gpu, KernelError> {
    let instance = instance();
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
        ..Default::default()
    }))
    .map_err(|e| {
        unavailable(&format!(
            "no WebGPU adapter found ({e}); install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers libvulkan1)"
        ))
    })?;
    let info = adapter.get_info();
    let limits = adapter.limits();
    if let Some(why) = missing_requirements(&limits) {
        return Err(unavailable(&format!("{}: {why}", info.name)));
    }
    let arith = pick_arithmetic(adapter.features(), requested)?;
    let required_features =
        if arith == Arithmetic::Int64 { wgpu::Features::SHADER_INT64 } else { wgpu::Features::empty() };
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("zkq"),
        required_features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| unavailable(&format!("{}: cannot open the device: {e}", info.name)))?;
    Ok(Gpu::new(device, queue, limits, arith, info, binding_cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_the_features() {
        let none = wgpu::Features::empty();
        let int64 = wgpu::Features::SHADER_INT64;
        assert_eq!(pick_arithmetic(int64, None).ok(), Some(Arithmetic::Int64));
        assert_eq!(pick_arithmetic(none, None).ok(), Some(Arithmetic::Portable32));
        assert_eq!(pick_arithmetic(int64, Some(Arithmetic::Portable32)).ok(), Some(Arithmetic::Portable32));
        assert!(matches!(pick_arithmetic(none, Some(Arithmetic::Int64)), Err(KernelError::Unavailable { .. })));
    }

    #[test]
    fn browser_default_limits_are_enough() {
        assert_eq!(missing_requirements(&wgpu::Limits::default()), None);
        let tiny = wgpu::Limits { max_storage_buffers_per_shader_stage: 4, ..wgpu::Limits::default() };
        assert!(missing_requirements(&tiny).is_some_and(|m| m.contains("storage buffers")));
    }
}
