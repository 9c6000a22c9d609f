//! The AVX path, written with intrinsics: the compiler's own vectorisation of several lane
//! groups at once spilled the phasor state to the stack every frame.

use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_storeu_ps, _mm256_sub_ps,
};

use super::{LANES, Lanes, PartialParams, for_each_segment};

/// f32 lanes in an AVX register.
const WIDTH: usize = 8;
/// Groups of [`WIDTH`] advanced together in one pass over the frames: one accumulator row of
/// [`LANES`]. One group's phasor is a multiply→add chain per frame, so alone it waits on
/// latency; two interleaved keep the pipelines fuller. The changing state (re, im and two
/// amplitudes per group) and the frame sums have to fit the sixteen vector registers beside
/// the constants: with two, the constants are read as memory operands, which costs little;
/// three measured about a quarter slower.
const GROUPS: usize = LANES / WIDTH;

/// Adds every partial into the lane accumulators.
///
/// # Safety
/// The CPU must support AVX.
#[target_feature(enable = "avx")]
pub(super) unsafe fn accumulate_all(
    partials: &[PartialParams],
    acc_left: &mut [[f32; LANES]],
    acc_right: &mut [[f32; LANES]],
) {
    for chunk in partials.chunks(LANES) {
        for_each_segment::<LANES>(chunk, acc_left, acc_right, |lanes, left, right| {
            accumulate(lanes, left, right);
        });
    }
}

/// Loads group `g` of a field.
#[inline(always)]
fn group(field: &[f32; LANES], g: usize) -> __m256 {
    let lanes: &[f32; WIDTH] = field[g * WIDTH..][..WIDTH]
        .try_into()
        .expect("a range of length WIDTH");
    // SAFETY: `lanes` is 8 readable f32s; the load has no alignment requirement, and this
    // module is compiled with AVX.
    unsafe { _mm256_loadu_ps(lanes.as_ptr()) }
}

/// The pass's output for each frame, added into the per-frame lane accumulators: group `g`
/// into lanes `8g..8g + 8`, as the portable path adds lane by lane.
#[target_feature(enable = "avx")]
fn accumulate(lanes: &Lanes<LANES>, acc_left: &mut [[f32; LANES]], acc_right: &mut [[f32; LANES]]) {
    let mut re: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.re, g));
    let mut im: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.im, g));
    let mut amp_left: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_left, g));
    let mut amp_right: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_right, g));
    let rot_re: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.rot_re, g));
    let rot_im: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.rot_im, g));
    let amp_left_step: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_left_step, g));
    let amp_right_step: [__m256; GROUPS] = std::array::from_fn(|g| group(&lanes.amp_right_step, g));
    for (out_l, out_r) in acc_left.iter_mut().zip(acc_right.iter_mut()) {
        for g in 0..GROUPS {
            let (out_l, out_r) = (&mut out_l[g * WIDTH..], &mut out_r[g * WIDTH..]);
            // SAFETY: each slice starts 8 readable and writable f32s (g < GROUPS, and the row
            // is GROUPS × 8 long); unaligned loads and stores are allowed.
            unsafe {
                let sum_l = _mm256_loadu_ps(out_l.as_ptr());
                let sum_r = _mm256_loadu_ps(out_r.as_ptr());
                _mm256_storeu_ps(
                    out_l.as_mut_ptr(),
                    _mm256_add_ps(sum_l, _mm256_mul_ps(amp_left[g], im[g])),
                );
                _mm256_storeu_ps(
                    out_r.as_mut_ptr(),
                    _mm256_add_ps(sum_r, _mm256_mul_ps(amp_right[g], im[g])),
                );
            }
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
    }
}
