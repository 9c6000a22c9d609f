//! The CPU renderer: sums partial oscillators with a rotating phasor, eight partials at a time.
//!
//! Each partial is a unit complex number `z = e^{i·2π·phase}` rotated once per frame by
//! `w = e^{i·2π·increment}`; its sine is `Im z`. That is four multiplies and two adds per
//! partial-frame instead of a `sin` call, and lanes of [`LANES`] partials run in lock-step so
//! the compiler turns the inner loops into SIMD. Per frame, each lane's contribution accumulates
//! into a per-frame lane vector, so the horizontal sum happens once per frame for all partials.
//! Rounding in the recurrence grows with the block length, about 1e-7 per frame relative; every
//! block restarts from the exact f64 phase computed by the voices, so nothing accumulates across
//! blocks. Allocation happens only when a block is longer than any before.

use std::f64::consts::TAU;

use super::block::{PartialBlock, PartialParams};
use super::renderer::{RenderError, Renderer, RendererKind};

/// Partials processed in lock-step; 8 fills an AVX register and two SSE registers.
pub const LANES: usize = 8;
/// Frames between re-seeds of the phasors from the exact phase, which bounds the recurrence's
/// rounding error (~1e-7 per frame) to what 256 frames (an engine block) accumulate, whatever the
/// block length.
pub const RESEED_FRAMES: usize = 256;

/// Renders partials on the CPU.
#[derive(Debug, Default)]
pub struct CpuRenderer {
    /// Per-frame lane accumulators, left channel: `frames × LANES`.
    acc_left: Vec<[f32; LANES]>,
    /// Per-frame lane accumulators, right channel.
    acc_right: Vec<[f32; LANES]>,
}

/// The state of one lane group, structure-of-arrays so every field is one vector register.
struct LaneGroup {
    re: [f32; LANES],
    im: [f32; LANES],
    rot_re: [f32; LANES],
    rot_im: [f32; LANES],
    amp_left: [f32; LANES],
    amp_left_step: [f32; LANES],
    amp_right: [f32; LANES],
    amp_right_step: [f32; LANES],
}

impl LaneGroup {
    /// Loads up to [`LANES`] partials positioned `offset` frames into the block.
    fn load(partials: &[PartialParams], offset: usize) -> Self {
        let mut group = Self {
            re: [0.0; LANES],
            im: [0.0; LANES],
            rot_re: [1.0; LANES],
            rot_im: [0.0; LANES],
            amp_left: [0.0; LANES],
            amp_left_step: [0.0; LANES],
            amp_right: [0.0; LANES],
            amp_right_step: [0.0; LANES],
        };
        let offset_f64 = offset as f64;
        let offset_f32 = offset as f32;
        for (lane, p) in partials.iter().enumerate().take(LANES) {
            // Start values in f64: the phasor starts exactly on the partial's phase.
            let phase = p.phase as f64 + p.increment as f64 * offset_f64;
            let (sin, cos) = (TAU * phase.fract()).sin_cos();
            let (rot_sin, rot_cos) = (TAU * p.increment as f64).sin_cos();
            group.re[lane] = cos as f32;
            group.im[lane] = sin as f32;
            group.rot_re[lane] = rot_cos as f32;
            group.rot_im[lane] = rot_sin as f32;
            group.amp_left[lane] = p.amp_left + p.amp_left_step * offset_f32;
            group.amp_left_step[lane] = p.amp_left_step;
            group.amp_right[lane] = p.amp_right + p.amp_right_step * offset_f32;
            group.amp_right_step[lane] = p.amp_right_step;
        }
        group
    }

    /// Adds this group's output for each frame into the per-frame lane accumulators.
    #[inline(always)]
    fn accumulate(&mut self, acc_left: &mut [[f32; LANES]], acc_right: &mut [[f32; LANES]]) {
        for (out_l, out_r) in acc_left.iter_mut().zip(acc_right.iter_mut()) {
            for lane in 0..LANES {
                let s = self.im[lane];
                out_l[lane] += self.amp_left[lane] * s;
                out_r[lane] += self.amp_right[lane] * s;
                let re = self.re[lane] * self.rot_re[lane] - self.im[lane] * self.rot_im[lane];
                let im = self.re[lane] * self.rot_im[lane] + self.im[lane] * self.rot_re[lane];
                self.re[lane] = re;
                self.im[lane] = im;
                self.amp_left[lane] += self.amp_left_step[lane];
                self.amp_right[lane] += self.amp_right_step[lane];
            }
        }
    }
}

/// Adds every partial into the lane accumulators, with the widest vectors this CPU has: the
/// same code compiled for AVX2 (8 lanes per instruction) where available, else for the
/// baseline (SSE2, 4 lanes). No fused multiply-add either way, so both give the same bits.
fn accumulate_all(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { accumulate_all_avx2(partials, acc_left, acc_right) };
        return;
    }
    accumulate_all_inline(partials, acc_left, acc_right);
}

/// [`accumulate_all_inline`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn accumulate_all_avx2(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    accumulate_all_inline(partials, acc_left, acc_right);
}

/// The work itself; always inlined, so each caller compiles it for its own target features.
#[inline(always)]
fn accumulate_all_inline(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    for chunk in partials.chunks(LANES) {
        let segments = acc_left
            .chunks_mut(RESEED_FRAMES)
            .zip(acc_right.chunks_mut(RESEED_FRAMES));
        for (i, (seg_left, seg_right)) in segments.enumerate() {
            LaneGroup::load(chunk, i * RESEED_FRAMES).accumulate(seg_left, seg_right);
        }
    }
}

impl CpuRenderer {
    /// A renderer with no buffers yet; they grow to the longest block seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves room for blocks of up to `frames` frames, so rendering never allocates.
    pub fn with_max_frames(frames: usize) -> Self {
        Self {
            acc_left: vec![[0.0; LANES]; frames],
            acc_right: vec![[0.0; LANES]; frames],
        }
    }
}

impl Renderer for CpuRenderer {
    fn kind(&self) -> RendererKind {
        RendererKind::Cpu
    }

    fn describe(&self) -> String {
        "CPU".into()
    }

    fn render(
        &mut self,
        block: &PartialBlock,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<(), RenderError> {
        let frames = block.frames.min(left.len()).min(right.len());
        if self.acc_left.len() < frames {
            self.acc_left.resize(frames, [0.0; LANES]);
            self.acc_right.resize(frames, [0.0; LANES]);
        }
        let acc_left = &mut self.acc_left[..frames];
        let acc_right = &mut self.acc_right[..frames];
        acc_left.fill([0.0; LANES]);
        acc_right.fill([0.0; LANES]);

        accumulate_all(&block.partials, acc_left, acc_right);

        for (out, acc) in left[..frames].iter_mut().zip(acc_left.iter()) {
            *out = acc.iter().sum();
        }
        for (out, acc) in right[..frames].iter_mut().zip(acc_right.iter()) {
            *out = acc.iter().sum();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: each partial evaluated with `sin` in f64.
    fn reference(block: &PartialBlock) -> (Vec<f32>, Vec<f32>) {
        let mut left = vec![0.0f64; block.frames];
        let mut right = vec![0.0f64; block.frames];
        for p in &block.partials {
            for i in 0..block.frames {
                let s = (TAU * (p.phase as f64 + i as f64 * p.increment as f64)).sin();
                left[i] += s * (p.amp_left as f64 + i as f64 * p.amp_left_step as f64);
                right[i] += s * (p.amp_right as f64 + i as f64 * p.amp_right_step as f64);
            }
        }
        (
            left.into_iter().map(|v| v as f32).collect(),
            right.into_iter().map(|v| v as f32).collect(),
        )
    }

    fn block(partials: usize, frames: usize) -> PartialBlock {
        let mut block = PartialBlock::with_capacity(partials);
        block.clear(frames);
        for k in 0..partials {
            let x = k as f32;
            block.partials.push(PartialParams {
                phase: (x * 0.137).fract(),
                increment: 0.0005 + 0.49 * ((x * 0.61).fract()),
                amp_left: 0.01 + 0.002 * x,
                amp_left_step: 1e-6 * (x - 10.0),
                amp_right: 0.02,
                amp_right_step: -2e-6,
            });
        }
        block
    }

    #[test]
    fn matches_the_sine_reference_for_uneven_partial_counts() {
        for (partials, frames) in [(1, 64), (13, 256), (64, 1024), (0, 32)] {
            let block = block(partials, frames);
            let (ref_l, ref_r) = reference(&block);
            let mut left = vec![9.0; frames];
            let mut right = vec![9.0; frames];
            CpuRenderer::new()
                .render(&block, &mut left, &mut right)
                .unwrap();
            let err = left
                .iter()
                .zip(&ref_l)
                .chain(right.iter().zip(&ref_r))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                err < 2e-5,
                "{partials} partials × {frames} frames: max error {err}"
            );
        }
    }

    #[test]
    fn rendering_a_reserved_size_does_not_allocate() {
        let block = block(40, 256);
        let mut renderer = CpuRenderer::with_max_frames(256);
        let mut left = vec![0.0; 256];
        let mut right = vec![0.0; 256];
        nice_assert_no_alloc::assert_no_alloc(|| {
            renderer.render(&block, &mut left, &mut right).unwrap();
        });
        assert!(left.iter().any(|s| *s != 0.0));
    }
}
