//! The CPU renderer: sums partial oscillators with a rotating phasor, sixteen partials at a time.
//!
//! Each partial is a unit complex number `z = e^{i·2π·phase}` rotated once per frame by
//! `w = e^{i·2π·increment}`; its sine is `Im z`. That is four multiplies and two adds per
//! partial-frame instead of a `sin` call, and lanes of [`LANES`] partials run in lock-step as
//! SIMD, by the widest path the CPU offers ([`SimdPath`], picked at run time): on x86-64 with
//! AVX-512, three 16-lane groups per pass over the frames ([`avx512`]); with AVX, two 8-lane
//! groups ([`avx`]); elsewhere one group at a time, vectorised by the compiler. Several
//! independent recurrences per pass hide each other's latency. Per frame, each lane's
//! contribution accumulates into a per-frame lane vector of [`LANES`], so the horizontal sum
//! happens once per frame for all partials.
//!
//! Every path adds the same products into the same accumulator lanes in the same order
//! (partial `k` into lane `k % LANES`, in ascending `k`), with separate multiplies and adds (no
//! fused multiply-add, which would round once instead of twice), so all of them give the same
//! bits: the tests compare them bit for bit, and a bounce does not depend on the CPU. The phasors'
//! starting points (two per partial per block) come from a branch-free f64 polynomial sine.
//! Rounding in the recurrence grows with the block length, about 1e-7 per frame relative; every
//! block restarts from the exact f64 phase computed by the voices, so nothing accumulates across
//! blocks. Allocation happens only when a block is longer than any before.

use std::f64::consts::TAU;

use super::block::{PartialBlock, PartialParams};
use super::renderer::{RenderError, Renderer, RendererKind};

#[cfg(target_arch = "x86_64")]
mod avx;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(test)]
mod tests;

/// Partials processed in lock-step, and the width of the per-frame accumulators: 16 fills an
/// AVX-512 register, two AVX and four SSE registers.
pub const LANES: usize = 16;
/// Frames between re-seeds of the phasors from the exact phase, which bounds the recurrence's
/// rounding error (~1e-7 per frame) to what 256 frames (an engine block) accumulate, whatever the
/// block length.
pub const RESEED_FRAMES: usize = 256;

/// Renders partials on the CPU.
#[derive(Debug)]
pub struct CpuRenderer {
    /// The instructions the inner loop runs on.
    path: SimdPath,
    /// Per-frame lane accumulators, left channel: `frames × LANES`.
    acc_left: Vec<[f32; LANES]>,
    /// Per-frame lane accumulators, right channel.
    acc_right: Vec<[f32; LANES]>,
}

/// The state of `N` partials (a multiple of [`LANES`]) over one stretch of frames,
/// structure-of-arrays so every run of [`LANES`] in a field is one vector register. Lanes past
/// the last partial hold silent partials.
#[derive(Clone, Copy)]
struct Lanes<const N: usize> {
    re: [f32; N],
    im: [f32; N],
    rot_re: [f32; N],
    rot_im: [f32; N],
    amp_left: [f32; N],
    amp_left_step: [f32; N],
    amp_right: [f32; N],
    amp_right_step: [f32; N],
}

impl<const N: usize> Lanes<N> {
    /// Loads up to `N` partials positioned `offset` frames into the block.
    #[inline(always)]
    fn load(partials: &[PartialParams], offset: usize) -> Self {
        let mut lanes = Self {
            re: [0.0; N],
            im: [0.0; N],
            rot_re: [1.0; N],
            rot_im: [0.0; N],
            amp_left: [0.0; N],
            amp_left_step: [0.0; N],
            amp_right: [0.0; N],
            amp_right_step: [0.0; N],
        };
        let offset_f64 = offset as f64;
        let offset_f32 = offset as f32;
        // Silent lanes start at phase 0 and do not turn.
        let mut phase = [0.0f64; N];
        let mut increment = [0.0f64; N];
        for (lane, p) in partials.iter().enumerate().take(N) {
            // Start values in f64: the phasor starts exactly on the partial's phase.
            phase[lane] = p.phase as f64 + p.increment as f64 * offset_f64;
            increment[lane] = p.increment as f64;
            lanes.amp_left[lane] = p.amp_left + p.amp_left_step * offset_f32;
            lanes.amp_left_step[lane] = p.amp_left_step;
            lanes.amp_right[lane] = p.amp_right + p.amp_right_step * offset_f32;
            lanes.amp_right_step[lane] = p.amp_right_step;
        }
        // Over whole arrays, apart from the gathering above, so that these vectorise.
        for lane in 0..N {
            let (sin, cos) = sin_cos_cycles(phase[lane]);
            lanes.re[lane] = cos as f32;
            lanes.im[lane] = sin as f32;
            let (rot_sin, rot_cos) = sin_cos_cycles(increment[lane]);
            lanes.rot_re[lane] = rot_cos as f32;
            lanes.rot_im[lane] = rot_sin as f32;
        }
        lanes
    }
}

impl Lanes<LANES> {
    /// Adds this group's output for each frame into the per-frame lane accumulators, with
    /// whatever vectors the compiler finds (the portable path).
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

/// `(sin 2πx, cos 2πx)` for `x` in cycles, to about 1e-15: the start of every phasor, so
/// 2 per partial every [`RESEED_FRAMES`]. A reduction to an eighth of a turn and Taylor
/// polynomials, cheaper than the library's `sin_cos`, in plain f64 arithmetic without fused
/// multiply-adds, so every code path gives the same bits.
#[inline(always)]
fn sin_cos_cycles(x: f64) -> (f64, f64) {
    // x = quadrant/4 + t, |t| ≤ 1/8. The quadrant stays a float: a cast to an integer is a
    // saturating conversion in Rust, which the compiler cannot vectorise, and it was a third of
    // the time of a renderer pass's setup.
    let quarters = (4.0 * x).round();
    let t = x - 0.25 * quarters;
    let quadrant = quarters - 4.0 * (0.25 * quarters).floor();
    let a = TAU * t;
    let a2 = a * a;
    // Taylor terms up to a^15 and a^16: truncation below 1e-16 for |a| ≤ π/4.
    const SIN: [f64; 8] = [
        1.0,
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5_040.0,
        1.0 / 362_880.0,
        -1.0 / 39_916_800.0,
        1.0 / 6_227_020_800.0,
        -1.0 / 1_307_674_368_000.0,
    ];
    const COS: [f64; 9] = [
        1.0,
        -1.0 / 2.0,
        1.0 / 24.0,
        -1.0 / 720.0,
        1.0 / 40_320.0,
        -1.0 / 3_628_800.0,
        1.0 / 479_001_600.0,
        -1.0 / 87_178_291_200.0,
        1.0 / 20_922_789_888_000.0,
    ];
    let sin = a * SIN.iter().rev().fold(0.0, |acc, &c| acc * a2 + c);
    let cos = COS.iter().rev().fold(0.0, |acc, &c| acc * a2 + c);
    // Quadrants are as good as random from partial to partial, so no branches: a swap and two
    // sign flips, (sin, cos) → (cos, -sin) → (-sin, -cos) → (-cos, sin), as selects.
    let odd = quadrant == 1.0 || quadrant == 3.0;
    let (sin, cos) = if odd { (cos, sin) } else { (sin, cos) };
    let sin_sign = if quadrant >= 2.0 { -1.0 } else { 1.0 };
    let cos_sign = if quadrant == 1.0 || quadrant == 2.0 {
        -1.0
    } else {
        1.0
    };
    (sin * sin_sign, cos * cos_sign)
}

/// The instructions the renderer's inner loop runs on. All give the same bits (see the module
/// documentation); they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdPath {
    /// Plain Rust, vectorised by the compiler for the build's target.
    Portable,
    /// x86-64 AVX intrinsics: two 8-lane groups per pass.
    Avx,
    /// x86-64 AVX-512F intrinsics: three 16-lane groups per pass, in 32 vector registers.
    Avx512,
}

impl SimdPath {
    /// The fastest path this CPU runs.
    pub fn detect() -> Self {
        [Self::Avx512, Self::Avx]
            .into_iter()
            .find(|path| path.is_supported())
            .unwrap_or(Self::Portable)
    }

    /// Whether this CPU runs the path.
    pub fn is_supported(self) -> bool {
        match self {
            Self::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Self::Avx => std::arch::is_x86_feature_detected!("avx"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx | Self::Avx512 => false,
        }
    }

    /// A short name for logs and benchmark figures.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx => "AVX",
            Self::Avx512 => "AVX-512",
        }
    }

    /// Adds every partial into the lane accumulators.
    fn accumulate_all(
        self,
        partials: &[PartialParams],
        acc_left: &mut [[f32; LANES]],
        acc_right: &mut [[f32; LANES]],
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a renderer holds only a path the CPU supports (`CpuRenderer::with_path`).
            Self::Avx512 => unsafe { avx512::accumulate_all(partials, acc_left, acc_right) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Self::Avx => unsafe { avx::accumulate_all(partials, acc_left, acc_right) },
            _ => accumulate_all_portable(partials, acc_left, acc_right),
        }
    }
}

/// The portable path: one lane group per pass, vectorised by the compiler.
fn accumulate_all_portable(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    for chunk in partials.chunks(LANES) {
        for_each_segment::<LANES>(chunk, acc_left, acc_right, |lanes, left, right| {
            lanes.accumulate(left, right);
        });
    }
}

/// The outer loop every path shares: for each stretch of [`RESEED_FRAMES`] of the
/// accumulators, `chunk`'s partials reseeded at the stretch's start and handed to `pass` with
/// it. Inlined, so that it and `pass` compile with the calling path's instructions.
#[inline(always)]
fn for_each_segment<const N: usize>(
    chunk: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
    mut pass: impl FnMut(&mut Lanes<N>, &mut [[f32; LANES]], &mut [[f32; LANES]]),
) {
    let segments = acc_left
        .chunks_mut(RESEED_FRAMES)
        .zip(acc_right.chunks_mut(RESEED_FRAMES));
    for (i, (seg_left, seg_right)) in segments.enumerate() {
        pass(
            &mut Lanes::<N>::load(chunk, i * RESEED_FRAMES),
            seg_left,
            seg_right,
        );
    }
}

impl CpuRenderer {
    /// A renderer on this CPU's fastest path, with no buffers yet; they grow to the longest
    /// block seen.
    pub fn new() -> Self {
        Self::with_max_frames(0)
    }

    /// Reserves room for blocks of up to `frames` frames, so rendering never allocates.
    pub fn with_max_frames(frames: usize) -> Self {
        Self::with_path(SimdPath::detect(), frames).expect("the detected path is supported")
    }

    /// A renderer on `path`, for comparing paths; `None` if this CPU does not run it.
    pub fn with_path(path: SimdPath, max_frames: usize) -> Option<Self> {
        path.is_supported().then(|| Self {
            path,
            acc_left: vec![[0.0; LANES]; max_frames],
            acc_right: vec![[0.0; LANES]; max_frames],
        })
    }

    /// The path this renderer runs.
    pub fn path(&self) -> SimdPath {
        self.path
    }
}

impl Default for CpuRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer for CpuRenderer {
    fn kind(&self) -> RendererKind {
        RendererKind::Cpu
    }

    fn describe(&self) -> String {
        format!("CPU ({})", self.path.name())
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

        self.path
            .accumulate_all(&block.partials, acc_left, acc_right);

        for (out, acc) in left[..frames].iter_mut().zip(acc_left.iter()) {
            *out = acc.iter().sum();
        }
        for (out, acc) in right[..frames].iter_mut().zip(acc_right.iter()) {
            *out = acc.iter().sum();
        }
        Ok(())
    }
}
