//! Measurements for the effects tests: test signals, loudness, true peak, decay time.

use ebur128::{EbuR128, Mode};

/// A xorshift64 stream of uniform values in -1..1, deterministic per seed.
pub(super) struct Noise(u64);

impl Noise {
    /// A stream for `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next value in -1..1.
    pub(super) fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// Next value in `range`.
    pub(super) fn range(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * 0.5 * (self.next() + 1.0)
    }
}

/// Pink-ish noise (Paul Kellet's economy filter, -3 dB/octave within ±0.5 dB over the band).
pub(super) fn pink_noise(frames: usize, seed: u64) -> Vec<f32> {
    let mut noise = Noise::new(seed);
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    (0..frames)
        .map(|_| {
            let white = noise.next();
            b0 = 0.99765 * b0 + white * 0.099_046;
            b1 = 0.96300 * b1 + white * 0.296_516_4;
            b2 = 0.57000 * b2 + white * 1.052_691_3;
            (b0 + b1 + b2 + white * 0.1848) * 0.1
        })
        .collect()
}

/// Integrated loudness (BS.1770) of a stereo signal, in LUFS.
pub(super) fn loudness_lufs(left: &[f32], right: &[f32], sample_rate: f32) -> f64 {
    let mut meter = EbuR128::new(2, sample_rate as u32, Mode::I).expect("meter");
    meter.add_frames_planar_f32(&[left, right]).expect("frames");
    meter.loudness_global().expect("loudness")
}

/// Scales `signal` so that its stereo loudness (same signal on both sides) is `target_lufs`.
pub(super) fn normalize_lufs(signal: &mut [f32], sample_rate: f32, target_lufs: f64) {
    let lufs = loudness_lufs(signal, signal, sample_rate);
    let gain = 10f64.powf((target_lufs - lufs) / 20.0) as f32;
    signal.iter_mut().for_each(|x| *x *= gain);
}

/// Largest |sample| in dBFS.
pub(super) fn sample_peak_db(signal: &[f32]) -> f32 {
    20.0 * signal.iter().fold(0.0f32, |m, x| m.max(x.abs())).log10()
}

/// True peak in dBTP by 8× oversampling with a long (64 taps per phase) Kaiser-windowed
/// sinc: independent of, and more exact than, the limiter's own 16-tap detector. Points within
/// 32 samples of either end are skipped: reconstruction there assumes silence outside the
/// signal, and a signal cut off at full level "overshoots" into it.
pub(super) fn true_peak_db(signal: &[f32]) -> f32 {
    const FACTOR: usize = 8;
    const HALF: isize = 32;
    let kaiser = |t: f64| {
        let i0 = |x: f64| {
            (1..40)
                .fold((1.0, 1.0), |(sum, term), k| {
                    let term = term * (x / (2.0 * k as f64)).powi(2);
                    (sum + term, term)
                })
                .0
        };
        let r = (t / HALF as f64).clamp(-1.0, 1.0);
        i0(9.0 * (1.0 - r * r).sqrt()) / i0(9.0)
    };
    let phases: Vec<Vec<f32>> = (1..FACTOR)
        .map(|p| {
            let fraction = p as f64 / FACTOR as f64;
            (-HALF + 1..=HALF)
                .map(|j| {
                    let t = fraction - j as f64;
                    let sinc = (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t);
                    (sinc * kaiser(t)) as f32
                })
                .collect()
        })
        .collect();
    let mut peak = signal.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for n in HALF as usize..signal.len().saturating_sub(HALF as usize) {
        for phase in &phases {
            let mut value = 0.0f32;
            for (k, c) in phase.iter().enumerate() {
                // Tap k weights sample n + (k - HALF + 1).
                value += c * signal[(n as isize + k as isize - HALF + 1) as usize];
            }
            peak = peak.max(value.abs());
        }
    }
    20.0 * peak.log10()
}

/// T60 in seconds from an impulse response: the Schroeder backward-integrated energy decay,
/// timed from -5 dB to -25 dB and extrapolated to 60 dB (T20).
pub(super) fn t60_s(left: &[f32], right: &[f32], sample_rate: f32) -> f32 {
    let mut energy: Vec<f64> = left
        .iter()
        .zip(right)
        .map(|(l, r)| f64::from(l * l + r * r))
        .collect();
    for n in (0..energy.len() - 1).rev() {
        energy[n] += energy[n + 1];
    }
    let total = energy[0];
    let time_at = |db: f64| {
        let level = total * 10f64.powf(db / 10.0);
        energy
            .iter()
            .position(|&e| e < level)
            .unwrap_or(energy.len()) as f32
            / sample_rate
    };
    3.0 * (time_at(-25.0) - time_at(-5.0))
}

/// Pearson correlation of two signals.
pub(super) fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (ab / (aa * bb).sqrt().max(1e-30)) as f32
}

/// Index of the largest |sample| in `x`.
pub(super) fn peak_index(x: &[f32]) -> usize {
    (0..x.len())
        .max_by(|&a, &b| x[a].abs().total_cmp(&x[b].abs()))
        .unwrap_or(0)
}
