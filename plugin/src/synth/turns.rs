//! Sines of the voices' slow motions, with phases in turns (cycles) rather than radians.
//!
//! Every partial of every voice evaluates its breathing swells and pitch wander at each block
//! boundary, and each voice its pan and drift: thousands of sines per second of music, all of
//! phases that grow with the note's age. libm's `sin` and `cos` took about 15 % of a CPU render
//! there, most of it in argument reduction and the rounding-mode guard that makes them exact to
//! the last bit, which a slow motion has no use for. A phase in turns reduces to one period with
//! one subtraction, and the sine of a quarter period is a short polynomial.
//!
//! Accuracy: the Taylor series of sin(2πu) through u¹⁷, on |u| ≤ ¼ turn, is within
//! (π/2)¹⁹/19! ≈ 5·10⁻¹⁴ of the sine, far below the f32 the results end in.

/// The Taylor coefficients of sin(2πu) in powers of u: u, u³, … u¹⁷.
const COEFFICIENTS: [f64; 9] = taylor_coefficients();

const fn taylor_coefficients() -> [f64; 9] {
    let two_pi = std::f64::consts::TAU;
    let mut coefficients = [two_pi; 9];
    let mut i = 1;
    while i < coefficients.len() {
        // Term k = 2i + 1 is term k − 2 times −(2π)² / ((k − 1)·k).
        let k = (2 * i + 1) as f64;
        coefficients[i] = -coefficients[i - 1] * two_pi * two_pi / ((k - 1.0) * k);
        i += 1;
    }
    coefficients
}

/// sin(2π·`turns`). NaN and infinity give NaN, as `sin` does.
pub fn sin_turns(turns: f64) -> f64 {
    sin_within_a_turn(reduce(turns))
}

/// cos(2π·`turns`), as exact as [`sin_turns`]: the quarter turn is added after the reduction,
/// where it rounds at 10⁻¹⁶ and not at the ulp of a large phase.
pub fn cos_turns(turns: f64) -> f64 {
    sin_within_a_turn(reduce(turns) + 0.25)
}

/// `turns` less the nearest whole number of turns: -½..=½, exactly.
fn reduce(turns: f64) -> f64 {
    // Adding and subtracting 1.5·2⁵² rounds to the nearest integer in the FPU's own rounding:
    // the portable build has no SSE4.1 `roundsd`, and `f64::round` would be a libm call.
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    if turns.abs() < 2_251_799_813_685_248.0 {
        turns - ((turns + ROUNDER) - ROUNDER)
    } else {
        // Beyond 2⁵¹ every f64 is a whole or half turn, and `%` keeps which, exactly (a libm
        // call, on a path no voice reaches); NaN and infinity give NaN.
        turns % 1.0
    }
}

/// sin(2π·`t`) for `t` in -½..=¾.
fn sin_within_a_turn(t: f64) -> f64 {
    // Onto -¼..=¼ by sin(½ − u) = sin(u) and sin(−½ − u) = sin(u).
    let u = if t > 0.25 {
        0.5 - t
    } else if t < -0.25 {
        -0.5 - t
    } else {
        t
    };
    let u2 = u * u;
    let (last, lower) = COEFFICIENTS.split_last().expect("nine coefficients");
    let mut sum = *last;
    for &c in lower.iter().rev() {
        sum = sum * u2 + c;
    }
    sum * u
}

#[cfg(test)]
mod tests {
    use std::f64::consts::TAU;

    use super::*;

    /// libm's sine of the same phase, reduced exactly first, so that the comparison is not
    /// about the rounding of 2π × a large phase.
    fn reference(turns: f64) -> (f64, f64) {
        let angle = TAU * (turns - turns.round());
        (angle.sin(), angle.cos())
    }

    #[test]
    fn matches_libm_across_periods_and_ages() {
        let mut worst = 0.0f64;
        // Phases as the voices make them: slow rates times ages up to a day, with offsets.
        let phases = (0..200_000).map(|i| (i as f64 * 0.618_033_988_749_895 - 60_000.0) * 0.731);
        let edges = [
            0.0,
            0.25,
            0.5,
            0.75,
            1.0,
            -0.25,
            -0.5,
            1e-9,
            0.249_999_999,
            86_400.3,
        ];
        for turns in phases.chain(edges) {
            let (sin, cos) = reference(turns);
            worst = worst
                .max((sin_turns(turns) - sin).abs())
                .max((cos_turns(turns) - cos).abs());
        }
        assert!(worst < 1e-13, "worst difference from libm: {worst:e}");
    }

    #[test]
    fn stays_within_one_and_exact_at_the_quarters() {
        assert_eq!(sin_turns(0.0), 0.0);
        assert!((sin_turns(0.25) - 1.0).abs() < 1e-13);
        assert!((sin_turns(-0.25) + 1.0).abs() < 1e-13);
        for i in 0..10_000 {
            let s = sin_turns(i as f64 / 997.0);
            assert!(s.abs() <= 1.0 + 1e-13, "{s}");
        }
    }

    #[test]
    fn broken_and_huge_phases_are_safe() {
        assert!(sin_turns(f64::NAN).is_nan());
        assert!(sin_turns(f64::INFINITY).is_nan());
        assert!(cos_turns(f64::NEG_INFINITY).is_nan());
        assert_eq!(sin_turns(1e300), 0.0);
        assert!((cos_turns(1e300) - 1.0).abs() < 1e-13);
        assert_eq!(sin_turns(-3.0e15).abs(), 0.0);
        // 2⁵¹ + ½: a half turn past a whole number, where the rounding trick no longer holds.
        let half_past = 2_251_799_813_685_248.5;
        assert!((cos_turns(half_past) + 1.0).abs() < 1e-13);
        assert!(sin_turns(half_past).abs() < 1e-15);
    }
}
