//! What the shader sees: the `#[repr(C)]` structs mirrored in `shaders/partials.wgsl`, the
//! shader's tuning constants, and the buffer sizes they imply.
//!
//! Pure data and arithmetic, no GPU calls; used on the engine thread by [`super::GpuRenderer`].

use bytemuck::{Pod, Zeroable};

use crate::synth::block::PartialParams;

/// Frames per workgroup in both passes (the shader's `workgroup_frames`). 64 is a multiple of
/// every vendor's SIMD width (32 or 64) and within WebGPU's downlevel limit of 256.
pub const WORKGROUP_FRAMES: u32 = 64;
/// Partials summed by one invocation of the first pass (the shader's `chunk_partials`), and
/// staged in workgroup memory (32 bytes each). Longer chunks mean less scratch memory and a
/// shorter second pass; shorter ones more parallelism for small blocks: 64 keeps 1k partials
/// × 256 frames at 4k invocations, and one partial per lane to stage.
pub const CHUNK_PARTIALS: u32 = 64;
/// Frame index limit of the shader's exact phase arithmetic (`cycles_at`: frame < 2^16).
pub const MAX_FRAMES: usize = 1 << 16;

/// Partials the buffers hold before the first growth: 40 voices × 24 partials, twice over.
pub const INITIAL_PARTIALS: usize = 2048;
/// Frames the buffers hold before the first growth: the largest usual engine block.
pub const INITIAL_FRAMES: usize = 1024;

/// Bytes of one [`PartialParams`] in the storage buffer (six `f32`, as in WGSL).
pub const PARTIAL_BYTES: u64 = size_of::<PartialParams>() as u64;

// The shader reads `PartialParams` straight from the block's `Vec`, so its layout is part of
// the contract: six tightly packed f32 fields, 24 bytes, in this order.
const _: () = {
    assert!(size_of::<PartialParams>() == 24);
    assert!(align_of::<PartialParams>() == 4);
    assert!(core::mem::offset_of!(PartialParams, phase) == 0);
    assert!(core::mem::offset_of!(PartialParams, increment) == 4);
    assert!(core::mem::offset_of!(PartialParams, amp_left) == 8);
    assert!(core::mem::offset_of!(PartialParams, amp_left_step) == 12);
    assert!(core::mem::offset_of!(PartialParams, amp_right) == 16);
    assert!(core::mem::offset_of!(PartialParams, amp_right_step) == 20);
};

// SAFETY: `PartialParams` is `#[repr(C)]`, `Copy`, and made of six `f32` fields with no padding
// (checked above), so every bit pattern is valid and all-zero is a valid value. The impls live
// here rather than as derives in `block.rs` because only the GPU upload needs them.
unsafe impl Zeroable for PartialParams {}
// SAFETY: as above.
unsafe impl Pod for PartialParams {}

/// The per-block uniform, mirrored by `BlockParams` in `shaders/partials.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct BlockParams {
    /// Frames in this block; also the stride of the chunk-sum planes.
    pub frames: u32,
    /// Partials in this block.
    pub partials: u32,
    /// `ceil(partials / CHUNK_PARTIALS)`: rows of chunk sums the second pass adds up.
    pub chunks: u32,
    /// Pads the struct to 16 bytes, the smallest uniform binding.
    pub padding: u32,
}

impl BlockParams {
    /// The uniform for a block of `frames` frames and `partials` partials.
    pub fn new(frames: usize, partials: usize) -> Self {
        Self {
            frames: frames as u32,
            partials: partials as u32,
            chunks: chunks_for(partials) as u32,
            padding: 0,
        }
    }
}

/// Rows of chunk sums for `partials` partials.
pub fn chunks_for(partials: usize) -> usize {
    partials.div_ceil(CHUNK_PARTIALS as usize)
}

/// The largest block the GPU buffers hold without growing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuCapacity {
    /// Frames per block.
    pub frames: usize,
    /// Partials per block.
    pub partials: usize,
}

impl Default for GpuCapacity {
    fn default() -> Self {
        Self {
            frames: INITIAL_FRAMES,
            partials: INITIAL_PARTIALS,
        }
    }
}

impl GpuCapacity {
    /// Whether a block of `frames` × `partials` fits.
    pub fn fits(&self, frames: usize, partials: usize) -> bool {
        frames <= self.frames && partials <= self.partials
    }

    /// The capacity after growing to hold `frames` × `partials`: each dimension that is too
    /// small goes to the next power of two, so a slowly growing block reallocates rarely.
    pub fn grown_to(&self, frames: usize, partials: usize) -> Self {
        let grow = |have: usize, need: usize| {
            if need <= have {
                have
            } else {
                need.next_power_of_two()
            }
        };
        Self {
            frames: grow(self.frames, frames),
            partials: grow(self.partials, partials),
        }
    }

    /// Bytes of the partials buffer.
    pub fn partial_bytes(&self) -> u64 {
        self.partials as u64 * PARTIAL_BYTES
    }

    /// Bytes of the chunk-sum scratch buffer: one `vec2<f32>` per (chunk, frame).
    pub fn chunk_sum_bytes(&self) -> u64 {
        (chunks_for(self.partials) * self.frames) as u64 * 8
    }

    /// Bytes of the output (and staging) buffer: planar stereo `f32`.
    pub fn output_bytes(&self) -> u64 {
        self.frames as u64 * 2 * 4
    }

    /// The largest single buffer, for checking against the device's limits.
    pub fn largest_buffer_bytes(&self) -> u64 {
        self.partial_bytes()
            .max(self.chunk_sum_bytes())
            .max(self.output_bytes())
    }
}
