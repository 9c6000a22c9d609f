//! The GPU buffers of one renderer and the bind group that ties them to the pipelines.
//!
//! Sized for a [`GpuCapacity`] and replaced whole when a larger block arrives (rare: sizes go
//! up in powers of two). Built on the engine thread; the per-block path only writes into them.

use super::GpuError;
use super::layout::{BlockParams, GpuCapacity};
use super::pipelines::{Pipelines, binding};

/// The buffers for blocks up to `capacity`.
#[derive(Debug)]
pub struct BlockBuffers {
    /// The largest block these buffers hold.
    pub capacity: GpuCapacity,
    /// `BlockParams` uniform, written every block.
    pub params: wgpu::Buffer,
    /// The block's `PartialParams`, written every block.
    pub partials: wgpu::Buffer,
    /// Pass 1's per (chunk, frame) sums; GPU-only scratch, reached only through the bind group.
    #[expect(
        dead_code,
        reason = "owned here so every buffer of the renderer is in one place"
    )]
    pub chunk_sums: wgpu::Buffer,
    /// Pass 2's planar stereo result; GPU-only.
    pub output: wgpu::Buffer,
    /// Host-readable copy of `output`, mapped once per block.
    pub staging: wgpu::Buffer,
    /// All four storage/uniform buffers bound for both passes.
    pub bind_group: wgpu::BindGroup,
}

impl BlockBuffers {
    /// Allocates buffers for `capacity` on `device`. Allocation errors surface through the
    /// caller's error scope.
    ///
    /// # Errors
    /// [`GpuError::BlockTooLarge`] when a buffer would exceed the device's limits.
    pub fn new(
        device: &wgpu::Device,
        pipelines: &Pipelines,
        capacity: GpuCapacity,
    ) -> Result<Self, GpuError> {
        check_limits(device, capacity)?;
        let buffer = |label, size, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as Usage;
        let params = buffer(
            "auralis.gpu.block_params",
            size_of::<BlockParams>() as u64,
            Usage::UNIFORM | Usage::COPY_DST,
        );
        let partials = buffer(
            "auralis.gpu.partials",
            capacity.partial_bytes(),
            Usage::STORAGE | Usage::COPY_DST,
        );
        let chunk_sums = buffer(
            "auralis.gpu.chunk_sums",
            capacity.chunk_sum_bytes(),
            Usage::STORAGE,
        );
        let output = buffer(
            "auralis.gpu.output",
            capacity.output_bytes(),
            Usage::STORAGE | Usage::COPY_SRC,
        );
        let staging = buffer(
            "auralis.gpu.staging",
            capacity.output_bytes(),
            Usage::MAP_READ | Usage::COPY_DST,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("auralis.gpu.partials.bind_group"),
            layout: &pipelines.bind_group_layout,
            entries: &[
                entry(binding::BLOCK, &params),
                entry(binding::PARTIALS, &partials),
                entry(binding::CHUNK_SUMS, &chunk_sums),
                entry(binding::OUTPUT, &output),
            ],
        });
        Ok(Self {
            capacity,
            params,
            partials,
            chunk_sums,
            output,
            staging,
            bind_group,
        })
    }
}

/// Refuses a capacity whose largest buffer `device` cannot hold or bind.
fn check_limits(device: &wgpu::Device, capacity: GpuCapacity) -> Result<(), GpuError> {
    let limits = device.limits();
    let limit = limits
        .max_buffer_size
        .min(limits.max_storage_buffer_binding_size);
    let largest = capacity.largest_buffer_bytes();
    if largest > limit {
        return Err(GpuError::BlockTooLarge {
            frames: capacity.frames,
            partials: capacity.partials,
            bytes: largest,
            limit,
        });
    }
    Ok(())
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}
