//! The CPU renderer: sums partial oscillators with a rotating phasor, eight partials at a time.
//!
//! Each partial is a unit complex number `z = e^{i·2π·phase}` rotated once per frame by
//! `w = e^{i·2π·increment}`; its sine is `Im z`. That is four multiplies and two adds per
//! partial-frame instead of a `sin` call, and lanes of [`LANES`] partials run in lock-step as
//! SIMD: on x86-64 with AVX, two groups of eight per pass over the frames (intrinsics), so that
//! two independent recurrences hide each other's latency; elsewhere one group at a time,
//! vectorised by the compiler. Per frame, each lane's contribution accumulates into a per-frame
//! lane vector, so the horizontal sum happens once per frame for all partials. The phasors'
//! starting points (two per partial per block) come from a branch-free f64 polynomial sine.
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
    // x = quadrant/4 + t, |t| ≤ 1/8.
    let quarters = (4.0 * x).round();
    let t = x - 0.25 * quarters;
    // i32, not i64: AVX converts four f64 to i32 at once, but to i64 one by one.
    let quadrant = (quarters as i32) & 3;
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
    // sign flips, (sin, cos) → (cos, -sin) → (-sin, -cos) → (-cos, sin).
    let (sin, cos) = if quadrant & 1 == 0 {
        (sin, cos)
    } else {
        (cos, sin)
    };
    let sin_sign = (1 - (quadrant & 2)) as f64;
    let cos_sign = (1 - ((quadrant + 1) & 2)) as f64;
    (sin * sin_sign, cos * cos_sign)
}

/// Adds every partial into the lane accumulators: with AVX where the CPU has it, else with
/// the portable loop. The same operations in the same order either way (no fused
/// multiply-add), so both give the same bits.
fn accumulate_all(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports AVX, checked just above.
        unsafe { avx::accumulate_all(partials, acc_left, acc_right) };
        return;
    }
    accumulate_all_portable(partials, acc_left, acc_right);
}

/// The portable path: one lane group per pass, vectorised by the compiler.
fn accumulate_all_portable(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    for chunk in partials.chunks(LANES) {
        let segments = acc_left
            .chunks_mut(RESEED_FRAMES)
            .zip(acc_right.chunks_mut(RESEED_FRAMES));
        for (i, (seg_left, seg_right)) in segments.enumerate() {
            Lanes::<LANES>::load(chunk, i * RESEED_FRAMES).accumulate(seg_left, seg_right);
        }
    }
}

/// The AVX path, written with intrinsics: the compiler's own vectorisation of several lane
/// groups at once spilled the phasor state to the stack every frame.
#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_storeu_ps, _mm256_sub_ps,
    };

    use super::{LANES, Lanes, PartialParams, RESEED_FRAMES};

    /// Lane groups advanced together in one pass over the frames. One group's phasor is a
    /// multiply→add chain per frame, so alone it waits on latency; with several independent
    /// groups interleaved, the pipelines stay full. The changing state (re, im and two
    /// amplitudes per group) and the two frame sums have to fit the sixteen vector registers
    /// beside the constants: with two, two constants spill (read as memory operands); three
    /// measured about a quarter slower.
    const GROUPS: usize = 2;
    /// Partials per pass.
    const PASS_LANES: usize = LANES * GROUPS;

    /// Adds every partial into the lane accumulators.
    #[target_feature(enable = "avx")]
    pub(super) fn accumulate_all(
        partials: &[PartialParams],
        acc_left: &mut [[f32; LANES]],
        acc_right: &mut [[f32; LANES]],
    ) {
        for chunk in partials.chunks(PASS_LANES) {
            let segments = acc_left
                .chunks_mut(RESEED_FRAMES)
                .zip(acc_right.chunks_mut(RESEED_FRAMES));
            for (i, (seg_left, seg_right)) in segments.enumerate() {
                let lanes = Lanes::<PASS_LANES>::load(chunk, i * RESEED_FRAMES);
                accumulate(&lanes, seg_left, seg_right);
            }
        }
    }

    /// Loads group `g` of a field.
    #[inline(always)]
    fn group(field: &[f32; PASS_LANES], g: usize) -> __m256 {
        let lanes: &[f32; LANES] = field[g * LANES..][..LANES]
            .try_into()
            .expect("a range of length LANES");
        // SAFETY: `lanes` is 8 readable f32s; the load has no alignment requirement, and
        // this module is compiled with AVX.
        unsafe { _mm256_loadu_ps(lanes.as_ptr()) }
    }

    /// The passes's output for each frame, added into the per-frame lane accumulators. Each
    /// frame's sum is added group after group, in partial order, as the portable path does.
    #[target_feature(enable = "avx")]
    fn accumulate(
        lanes: &Lanes<PASS_LANES>,
        acc_left: &mut [[f32; LANES]],
        acc_right: &mut [[f32; LANES]],
    ) {
        let mut re: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.re, g));
        let mut im: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.im, g));
        let mut amp_left: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_left, g));
        let mut amp_right: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_right, g));
        let rot_re: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.rot_re, g));
        let rot_im: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.rot_im, g));
        let amp_left_step: [__m256; GROUPS] =
            std::array::from_fn(|g| group(&lanes.amp_left_step, g));
        let amp_right_step: [__m256; GROUPS] =
            std::array::from_fn(|g| group(&lanes.amp_right_step, g));
        for (out_l, out_r) in acc_left.iter_mut().zip(acc_right.iter_mut()) {
            // SAFETY: each accumulator is 8 readable f32s; unaligned loads are allowed.
            let (mut sum_l, mut sum_r) = unsafe {
                (
                    _mm256_loadu_ps(out_l.as_ptr()),
                    _mm256_loadu_ps(out_r.as_ptr()),
                )
            };
            for g in 0..GROUPS {
                sum_l = _mm256_add_ps(sum_l, _mm256_mul_ps(amp_left[g], im[g]));
                sum_r = _mm256_add_ps(sum_r, _mm256_mul_ps(amp_right[g], im[g]));
                let next_re = _mm256_sub_ps(
                    _mm256_mul_ps(re[g], rot_re[g]),
                    _mm256_mul_ps(im[g], rot_im[g]),
                );
                im[g] = _mm256_add_ps(
                    _mm256_mul_ps(re[g], rot_im[g]),
                    _mm256_mul_ps(im[g], rot_re[g]),
                );
                re[g] = next_re;
                amp_left[g] = _mm256_add_ps(amp_left[g], amp_left_step[g]);
                amp_right[g] = _mm256_add_ps(amp_right[g], amp_right_step[g]);
            }
            // SAFETY: each accumulator is 8 writable f32s; unaligned stores are allowed.
            unsafe {
                _mm256_storeu_ps(out_l.as_mut_ptr(), sum_l);
                _mm256_storeu_ps(out_r.as_mut_ptr(), sum_r);
            }
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
    use auralis_checks::max_difference;

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
            let err = max_difference(&left, &ref_l).max(max_difference(&right, &ref_r));
            assert!(
                err < 2e-5,
                "{partials} partials × {frames} frames: max error {err}"
            );
        }
    }

    #[test]
    fn sin_cos_cycles_matches_the_library() {
        for k in -2_000..=2_000 {
            let x = k as f64 * 0.000_713_9 + (k as f64 * 0.37).fract() * 1e-3;
            let (sin, cos) = sin_cos_cycles(x);
            let (lib_sin, lib_cos) = (TAU * x).sin_cos();
            assert!((sin - lib_sin).abs() < 1e-14, "sin at {x}");
            assert!((cos - lib_cos).abs() < 1e-14, "cos at {x}");
        }
        for x in [0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, -0.25] {
            let (sin, cos) = sin_cos_cycles(x);
            let (lib_sin, lib_cos) = (TAU * x).sin_cos();
            assert!((sin - lib_sin).abs() < 1e-15 && (cos - lib_cos).abs() < 1e-15);
        }
    }

    /// Set to skip [`the_avx_path_gives_the_portable_bits`] on purpose on a CPU without AVX.
    #[cfg(target_arch = "x86_64")]
    const SKIP_AVX_ENV: &str = "AURALIS_SKIP_AVX_TEST";

    /// libtest has no "skipped" outcome that a test can choose at run time (`#[ignore]` is
    /// fixed at compile time, and `cfg(target_feature = "avx")` describes the build target,
    /// not the CPU the tests run on). Returning early on a CPU without AVX would print "ok" for
    /// a comparison that never ran, so instead such a CPU fails the test, saying why, unless
    /// the skip is asked for by name ([`SKIP_AVX_ENV`], as `AURALIS_SKIP_GPU_TESTS` for the GPU
    /// tests); then it says `SKIPPED` on stderr. Off x86-64 there is no AVX path to compare,
    /// and the test does not exist.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx_path_gives_the_portable_bits() {
        if !std::arch::is_x86_feature_detected!("avx") {
            assert!(
                std::env::var_os(SKIP_AVX_ENV).is_some(),
                "this CPU has no AVX, so the AVX path cannot be compared with the portable one \
                 here; set {SKIP_AVX_ENV}=1 to skip the comparison on purpose"
            );
            eprintln!("SKIPPED: no AVX on this CPU ({SKIP_AVX_ENV} is set)");
            return;
        }
        // 37 partials: two full passes of 16 and a partial one; 600 frames: three reseeds.
        let block = block(37, 600);
        let mut acc = [vec![[0.0; LANES]; 600], vec![[0.0; LANES]; 600]];
        let mut portable = acc.clone();
        let mut dispatched = acc.clone();
        let [left, right] = &mut acc;
        // SAFETY: AVX is supported, checked above.
        unsafe { avx::accumulate_all(&block.partials, left, right) };
        let [left, right] = &mut portable;
        accumulate_all_portable(&block.partials, left, right);
        assert!(
            acc == portable,
            "the AVX path differs from the portable one"
        );
        // And the renderer's own entry point, which picks the path at run time, agrees.
        let [left, right] = &mut dispatched;
        accumulate_all(&block.partials, left, right);
        assert!(dispatched == portable, "the dispatched path differs");
        assert!(
            portable[0].iter().flatten().any(|&s| s != 0.0),
            "the comparison ran on silence"
        );
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
