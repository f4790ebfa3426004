//! The opened device and the small vocabulary every kernel uses: compile a module with an
//! explicit bind-group layout, allocate buffers within the adapter's limits, dispatch any number
//! of threads, read results back, and turn device errors into [`KernelError`]s (wgpu's default
//! is to panic; zkq never does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use super::shaders::{self, Arithmetic, Module, Unroll, WORKGROUP_SIZE};
use crate::KernelError;

/// One opened adapter: device, queue, the limits granted, the arithmetic path in use.
#[derive(Debug)]
pub(crate) struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    pub(crate) arith: Arithmetic,
    pub(crate) info: wgpu::AdapterInfo,
    /// The most bytes one storage binding may hold: the adapter's limits, lowered by
    /// [`super::WgpuOptions::max_binding_bytes`] when that is set.
    max_binding: u64,
    /// The last error reported outside an error scope (kept instead of wgpu's default panic).
    uncaptured: Arc<Mutex<Option<String>>>,
}

/// How a shader binding is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `var<storage, read>`.
    ReadOnly,
    /// `var<storage, read_write>`.
    ReadWrite,
    /// `var<uniform>`.
    Uniform,
}

/// A compiled WGSL module: its bind-group layout (shared by all its entry points) and one
/// pipeline per entry point.
#[derive(Debug)]
pub(crate) struct Compiled {
    layout: wgpu::BindGroupLayout,
    pipelines: HashMap<&'static str, wgpu::ComputePipeline>,
}

impl Compiled {
    pub(crate) fn pipeline(&self, entry: &str) -> &wgpu::ComputePipeline {
        // Entry names are compile-time constants of this crate, all compiled in `Gpu::compile`.
        &self.pipelines[entry]
    }
}

impl Gpu {
    pub(crate) fn new(
        device: wgpu::Device,
        queue: wgpu::Queue,
        limits: wgpu::Limits,
        arith: Arithmetic,
        info: wgpu::AdapterInfo,
        binding_cap: Option<u64>,
    ) -> Self {
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            *sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }));
        let adapter_max = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        // A cap only ever lowers the adapter's limit. Bindings hold whole u32 words.
        let max_binding = binding_cap.map_or(adapter_max, |cap| cap.min(adapter_max)) & !3;
        Self { device, queue, limits, arith, info, max_binding, uncaptured }
    }

    /// Runs `f` inside out-of-memory and validation error scopes and converts what they catch.
    /// `bytes` is what the operation allocates, for the out-of-memory report.
    pub(crate) fn scoped<T>(&self, bytes: u64, f: impl FnOnce() -> Result<T, KernelError>) -> Result<T, KernelError> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        if oom.is_some() {
            return Err(KernelError::OutOfMemory { requested: bytes, available: self.limits.max_buffer_size });
        }
        if let Some(e) = validation {
            return Err(device_error(&e.to_string()));
        }
        if let Some(e) = self.uncaptured.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(device_error(&e));
        }
        result
    }

    /// Compiles `module` with one pipeline per entry point and an explicit layout of `bindings`
    /// (binding i is `bindings[i]`). Compiler messages come back as [`KernelError::Compile`].
    pub(crate) fn compile(
        &self,
        module: Module,
        bindings: &[Binding],
        entries: &[&'static str],
    ) -> Result<Compiled, KernelError> {
        let unroll = if self.info.device_type == wgpu::DeviceType::Cpu { Unroll::Compact } else { Unroll::Unrolled };
        let source = shaders::source(module, self.arith, unroll);
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let shader = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("zkq"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let layout_entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b {
                        Binding::ReadOnly => wgpu::BufferBindingType::Storage { read_only: true },
                        Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                        Binding::Uniform => wgpu::BufferBindingType::Uniform,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &layout_entries });
        let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = entries
            .iter()
            .map(|&entry| {
                let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &shader,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                });
                (entry, p)
            })
            .collect();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(KernelError::Compile { log: format!("{module:?} ({}): {e}", self.arith.as_str()) });
        }
        Ok(Compiled { layout, pipelines })
    }

    /// Fails with [`KernelError::OutOfMemory`] when one binding of `bytes` exceeds
    /// [`Gpu::max_binding_bytes`]. Kernels split their data so this only fires for a size no
    /// split can bring under the limit.
    pub(crate) fn check_binding(&self, bytes: u64) -> Result<(), KernelError> {
        let limit = self.max_binding_bytes();
        if bytes > limit {
            return Err(KernelError::OutOfMemory { requested: bytes, available: limit });
        }
        Ok(())
    }

    /// The most bytes one storage binding may hold: the adapter's storage-binding and
    /// buffer-size limits, lowered by the backend's cap if one is set.
    pub(crate) fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    /// [`Gpu::max_binding_bytes`] in u32 words.
    pub(crate) fn max_binding_words(&self) -> usize {
        usize::try_from(self.max_binding / 4).unwrap_or(usize::MAX)
    }

    /// A storage buffer holding `words` (at least one word: WebGPU has no empty bindings).
    pub(crate) fn storage_init(&self, label: &str, words: &[u32]) -> Result<wgpu::Buffer, KernelError> {
        let padded: &[u32] = if words.is_empty() { &[0] } else { words };
        self.check_binding(std::mem::size_of_val(padded) as u64)?;
        Ok(self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(padded),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        }))
    }

    /// A zeroed storage buffer of `words` u32 words (at least one).
    pub(crate) fn storage(&self, label: &str, words: usize) -> Result<wgpu::Buffer, KernelError> {
        let bytes = 4 * words.max(1) as u64;
        self.check_binding(bytes)?;
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// A uniform buffer holding `words`, padded to 16 bytes.
    pub(crate) fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let mut padded = words.to_vec();
        padded.resize(words.len().div_ceil(4).max(1) * 4, 0);
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&padded),
            usage: wgpu::BufferUsages::UNIFORM,
        })
    }

    /// Binds `buffers` (binding i = `buffers[i]`) for `module`.
    pub(crate) fn bind(&self, module: &Compiled, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &module.layout, entries: &entries })
    }

    /// Records one dispatch of `threads` threads of `entry` (split over two dimensions when
    /// the workgroup count exceeds the per-dimension limit; shaders flatten with
    /// `thread_index`).
    pub(crate) fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        module: &Compiled,
        entry: &str,
        bind: &wgpu::BindGroup,
        threads: u32,
    ) {
        if threads == 0 {
            return;
        }
        let groups = threads.div_ceil(WORKGROUP_SIZE);
        let max = self.limits.max_compute_workgroups_per_dimension.max(1);
        let x = groups.min(max);
        let y = groups.div_ceil(x);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
        pass.set_pipeline(module.pipeline(entry));
        pass.set_bind_group(0, bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// Records one dispatch of exactly one workgroup of `entry`.
    pub(crate) fn dispatch_single_group(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        module: &Compiled,
        entry: &str,
        bind: &wgpu::BindGroup,
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
        pass.set_pipeline(module.pipeline(entry));
        pass.set_bind_group(0, bind, &[]);
        pass.dispatch_workgroups(1, 1, 1);
    }

    pub(crate) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }

    /// Submits `encoder`, then copies the first `words` words of `buffer` back to the host.
    pub(crate) fn submit_and_read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        words: usize,
    ) -> Result<Vec<u32>, KernelError> {
        let bytes = 4 * words.max(1) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            // The receiver lives until `recv` below returns; a failed send only means it is gone.
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| device_error(&format!("waiting for the device: {e}")))?;
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(device_error(&format!("mapping results: {e}"))),
            Err(_) => return Err(device_error("the device dropped the read-back")),
        }
        let out = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| device_error(&format!("reading results: {e}")))?;
            let all: &[u32] = bytemuck::cast_slice(&view);
            all[..words].to_vec()
        };
        staging.unmap();
        Ok(out)
    }
}

/// A device failure that is not out-of-memory: report it as the backend being unusable.
pub(crate) fn device_error(what: &str) -> KernelError {
    KernelError::Unavailable { backend: "wgpu".into(), reason: format!("device error: {what}") }
}
