//! Per-frame linear ramps for gains that are recomputed once per control block.
//!
//! Engine thread, per sample; plain arithmetic. A value that jumps once per control block
//! (64 frames) would buzz at fs/64; ramping it linearly across the block removes the steps,
//! and because control blocks sit at fixed absolute frame positions, the ramp is the same
//! however the caller splits its blocks.

/// A value moving linearly towards the target set by the last [`Ramp::retarget`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Ramp {
    /// Value for the next frame.
    value: f32,
    /// Per-frame change until the next retarget.
    step: f32,
}

impl Ramp {
    /// A ramp resting at `value`.
    pub(super) fn new(value: f32) -> Self {
        Self { value, step: 0.0 }
    }

    /// Heads to `target`, arriving after `frames` frames (≥ 1).
    pub(super) fn retarget(&mut self, target: f32, frames: usize) {
        self.step = (target - self.value) / frames as f32;
    }

    /// The value for this frame; advances to the next.
    #[inline]
    pub(super) fn tick(&mut self) -> f32 {
        let value = self.value;
        self.value += self.step;
        value
    }
}
