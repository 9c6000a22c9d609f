//! The AVX-512 path: sixteen lanes a register and thirty-two registers, so one pass over the
//! frames carries three independent 16-lane groups (48 partials) with all their state and
//! constants in registers: 8 vectors a group and 2 frame sums, 26 of 32. Partials left over
//! after the last whole pass go one group at a time.
//!
//! Only AVX-512F is used (multiplies, adds and unaligned loads and stores of 16 f32s), which
//! every AVX-512 CPU has. Some CPUs run 512-bit operations as two 256-bit halves (AMD Zen 4)
//! or lower their clock under heavy 512-bit use (older Intel server parts); the gain here is
//! then fewer instructions and no spilled constants rather than twice the width, and the
//! benchmark reports this path beside the AVX one (`cpu_partials_realtime_avx`), measured in
//! the same run.

use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_storeu_ps, _mm512_sub_ps,
};

use super::{LANES, Lanes, PartialParams, for_each_segment};

/// Groups of [`LANES`] in a full pass.
const GROUPS: usize = 3;
/// Partials in a full pass.
const PASS_LANES: usize = LANES * GROUPS;

/// Adds every partial into the lane accumulators.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn accumulate_all(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    let whole = partials.len() / PASS_LANES * PASS_LANES;
    let (passes, rest) = partials.split_at(whole);
    for chunk in passes.chunks(PASS_LANES) {
        pass::<PASS_LANES, GROUPS>(chunk, acc_left, acc_right);
    }
    for chunk in rest.chunks(LANES) {
        pass::<LANES, 1>(chunk, acc_left, acc_right);
    }
}

/// One pass of `N = LANES × G` partials over every frame, reseeded every [`super::RESEED_FRAMES`].
#[target_feature(enable = "avx512f")]
fn pass<const N: usize, const G: usize>(
    chunk: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    for_each_segment::<N>(chunk, acc_left, acc_right, |lanes, left, right| {
        accumulate::<N, G>(lanes, left, right);
    });
}

/// Loads group `g` of a field.
#[inline(always)]
fn group<const N: usize>(field: &[f32; N], g: usize) -> __m512 {
    let lanes: &[f32; LANES] = field[g * LANES..][..LANES]
        .try_into()
        .expect("a range of length LANES");
    // SAFETY: `lanes` is 16 readable f32s; the load has no alignment requirement, and this
    // module is compiled with AVX-512F.
    unsafe { _mm512_loadu_ps(lanes.as_ptr()) }
}

/// The pass's output for each frame, added into the per-frame lane accumulators group after
/// group, in partial order, as the portable path adds chunk after chunk.
#[target_feature(enable = "avx512f")]
fn accumulate<const N: usize, const G: usize>(
    lanes: &Lanes<N>,
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    let mut re: [__m512; G] = std::array::from_fn(|g| group(&lanes.re, g));
    let mut im: [__m512; G] = std::array::from_fn(|g| group(&lanes.im, g));
    let mut amp_left: [__m512; G] = std::array::from_fn(|g| group(&lanes.amp_left, g));
    let mut amp_right: [__m512; G] = std::array::from_fn(|g| group(&lanes.amp_right, g));
    let rot_re: [__m512; G] = std::array::from_fn(|g| group(&lanes.rot_re, g));
    let rot_im: [__m512; G] = std::array::from_fn(|g| group(&lanes.rot_im, g));
    let amp_left_step: [__m512; G] = std::array::from_fn(|g| group(&lanes.amp_left_step, g));
    let amp_right_step: [__m512; G] = std::array::from_fn(|g| group(&lanes.amp_right_step, g));
    for (out_l, out_r) in acc_left.iter_mut().zip(acc_right.iter_mut()) {
        // SAFETY: each accumulator row is 16 readable f32s; unaligned loads are allowed.
        let (mut sum_l, mut sum_r) = unsafe {
            (
                _mm512_loadu_ps(out_l.as_ptr()),
                _mm512_loadu_ps(out_r.as_ptr()),
            )
        };
        for g in 0..G {
            sum_l = _mm512_add_ps(sum_l, _mm512_mul_ps(amp_left[g], im[g]));
            sum_r = _mm512_add_ps(sum_r, _mm512_mul_ps(amp_right[g], im[g]));
            let next_re = _mm512_sub_ps(
                _mm512_mul_ps(re[g], rot_re[g]),
                _mm512_mul_ps(im[g], rot_im[g]),
            );
            im[g] = _mm512_add_ps(
                _mm512_mul_ps(re[g], rot_im[g]),
                _mm512_mul_ps(im[g], rot_re[g]),
            );
            re[g] = next_re;
            amp_left[g] = _mm512_add_ps(amp_left[g], amp_left_step[g]);
            amp_right[g] = _mm512_add_ps(amp_right[g], amp_right_step[g]);
        }
        // SAFETY: each accumulator row is 16 writable f32s; unaligned stores are allowed.
        unsafe {
            _mm512_storeu_ps(out_l.as_mut_ptr(), sum_l);
            _mm512_storeu_ps(out_r.as_mut_ptr(), sum_r);
        }
    }
}
