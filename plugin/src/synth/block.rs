//! One block's worth of partial oscillators: the contract between the voices and a renderer.
//!
//! Each partial is described by where it starts and how it moves across the block, so a
//! renderer needs no state of its own: sample `i` of a partial is
//! `sin(2π·(phase + i·increment)) · (amp + i·amp_step)` per channel. The layout is `#[repr(C)]`
//! and plain `f32`s so the GPU renderer can upload it as it is.

/// One partial oscillator over one block.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PartialParams {
    /// Phase at the block's first frame, in cycles, 0..1.
    pub phase: f32,
    /// Phase advance per frame, in cycles (frequency / sample rate), 0..0.5.
    pub increment: f32,
    /// Left amplitude at the first frame.
    pub amp_left: f32,
    /// Change of the left amplitude per frame.
    pub amp_left_step: f32,
    /// Right amplitude at the first frame.
    pub amp_right: f32,
    /// Change of the right amplitude per frame.
    pub amp_right_step: f32,
}

/// The partials of every sounding voice for one block of `frames` frames.
#[derive(Debug, Default)]
pub struct PartialBlock {
    /// Frames in this block.
    pub frames: usize,
    /// The partials, in voice order. Capacity is reserved up front; `clear` keeps it.
    pub partials: Vec<PartialParams>,
}

impl PartialBlock {
    /// An empty block with room for `max_partials` partials.
    pub fn with_capacity(max_partials: usize) -> Self {
        Self {
            frames: 0,
            partials: Vec::with_capacity(max_partials),
        }
    }

    /// Starts a new block of `frames` frames.
    pub fn clear(&mut self, frames: usize) {
        self.frames = frames;
        self.partials.clear();
    }
}
