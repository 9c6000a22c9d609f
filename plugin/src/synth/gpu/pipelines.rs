//! The compiled shader: one bind group layout and the two compute pipelines of
//! `shaders/partials.wgsl`, built once per renderer and never rebuilt (buffer growth only
//! needs a new bind group).
//!
//! Runs on the engine thread at renderer creation; never per block.

use super::layout::{CHUNK_PARTIALS, WORKGROUP_FRAMES};

/// The shader source, embedded so the plugin bundle is self-contained.
const PARTIALS_WGSL: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shaders/partials.wgsl"
));

/// Binding numbers of `shaders/partials.wgsl`, group 0.
pub mod binding {
    /// `block: BlockParams` (uniform).
    pub const BLOCK: u32 = 0;
    /// `partials: array<PartialParams>` (read-only storage).
    pub const PARTIALS: u32 = 1;
    /// `chunk_sums: array<vec2<f32>>` (scratch storage).
    pub const CHUNK_SUMS: u32 = 2;
    /// `output: array<f32>` (planar stereo storage).
    pub const OUTPUT: u32 = 3;
}

/// The two passes and the layout their bind group must follow.
#[derive(Debug)]
pub struct Pipelines {
    /// Layout of the single bind group both passes share.
    pub bind_group_layout: wgpu::BindGroupLayout,
    /// Pass 1, `sum_chunks`: per (frame, chunk) partial sums.
    pub sum_chunks: wgpu::ComputePipeline,
    /// Pass 2, `mix_chunks`: per frame chunk sums into planar stereo.
    pub mix_chunks: wgpu::ComputePipeline,
}

impl Pipelines {
    /// Compiles the shader and builds both pipelines. Errors surface through the caller's
    /// error scope, not here.
    pub fn new(device: &wgpu::Device) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("auralis.gpu.partials.wgsl"),
            source: wgpu::ShaderSource::Wgsl(PARTIALS_WGSL.into()),
        });
        let bind_group_layout = bind_group_layout(device);
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("auralis.gpu.partials.pipeline_layout"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let constants = [
            ("workgroup_frames", f64::from(WORKGROUP_FRAMES)),
            ("chunk_partials", f64::from(CHUNK_PARTIALS)),
        ];
        let pipeline = |label, entry_point| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(entry_point),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    // The shader never reads workgroup memory, so skip zeroing it.
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
        };
        Self {
            sum_chunks: pipeline("auralis.gpu.partials.sum_chunks", "sum_chunks"),
            mix_chunks: pipeline("auralis.gpu.partials.mix_chunks", "mix_chunks"),
            bind_group_layout,
        }
    }
}

/// The bindings both passes share: the block's parameters, the partials, the per-chunk sums
/// and the output, as `shaders/partials.wgsl` declares them.
fn bind_group_layout(device: &wgpu::Device) -> wgpu::BindGroupLayout {
    let buffer = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let storage = |read_only| wgpu::BufferBindingType::Storage { read_only };
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("auralis.gpu.partials.bind_group_layout"),
        entries: &[
            buffer(binding::BLOCK, wgpu::BufferBindingType::Uniform),
            buffer(binding::PARTIALS, storage(true)),
            buffer(binding::CHUNK_SUMS, storage(false)),
            buffer(binding::OUTPUT, storage(false)),
        ],
    })
}
