//! Spectra of rendered audio, and what the tests read from them: the strongest frequency,
//! the brightness (centroid), how noise-like it is (flatness), and which pitch classes the
//! energy falls on (chroma), which is how a test hears the key.

use std::ops::Range;

use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Pitch-class names, C = 0, with sharps.
pub const PITCH_CLASSES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// A power spectrum: `power[k]` is |X[k]|² at `k · bin_hz` for k in 0..fft_len/2 (DC up to
/// just below Nyquist), in full-scale units squared, summed over the frames analysed. Only
/// ratios between bins of one spectrum mean anything: the scale depends on the window, the
/// FFT length and the number of frames.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Power per bin.
    pub power: Vec<f64>,
    /// Width of one bin, `sample_rate / fft_len`, in Hz.
    pub bin_hz: f64,
}

/// Which bins count towards pitch-class energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bins {
    /// Every bin: the whole spectrum's energy, noise included.
    All,
    /// Local maxima only (bins at least as strong as both neighbours): tonal partials stand
    /// out while the noise floor of percussion and reverb mostly does not.
    Peaks,
}

impl Spectrum {
    /// Welch's average over the mid signal (l + r) / 2: Hann-windowed frames of `fft_len`
    /// samples, hop `fft_len / 2`, power summed over frames. The frequency resolution is
    /// `sample_rate / fft_len` (choose 8192 at 48 kHz for 5.9 Hz bins, 32768 for 1.5 Hz,
    /// finer than a semitone down to ~50 Hz). Trailing samples that do not fill a frame are
    /// not analysed; a signal shorter than one frame gives an all-zero spectrum.
    pub fn averaged(left: &[f32], right: &[f32], sample_rate: f64, fft_len: usize) -> Self {
        let fft = FftPlanner::<f64>::new().plan_fft_forward(fft_len);
        let window: Vec<f64> = (0..fft_len)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / fft_len as f64).cos())
            .collect();
        let mut power = vec![0.0; fft_len / 2];
        let mut buffer = vec![Complex::new(0.0, 0.0); fft_len];
        let frames = left.len().min(right.len());
        let mut start = 0;
        while start + fft_len <= frames {
            for (i, slot) in buffer.iter_mut().enumerate() {
                let mid = 0.5 * (f64::from(left[start + i]) + f64::from(right[start + i]));
                *slot = Complex::new(mid * window[i], 0.0);
            }
            fft.process(&mut buffer);
            for (sum, bin) in power.iter_mut().zip(&buffer) {
                *sum += bin.norm_sqr();
            }
            start += fft_len / 2;
        }
        Self {
            power,
            bin_hz: sample_rate / fft_len as f64,
        }
    }

    /// One FFT of the first `fft_len` samples of `signal` (zero-padded if shorter), without a
    /// window: for a single decaying sound that starts at frame 0, where a window would cut
    /// away the attack and a rectangular one leaks least at the peak.
    pub fn single(signal: &[f32], sample_rate: f64, fft_len: usize) -> Self {
        let mut buffer: Vec<Complex<f64>> = signal
            .iter()
            .take(fft_len)
            .map(|&x| Complex::new(f64::from(x), 0.0))
            .collect();
        buffer.resize(fft_len, Complex::new(0.0, 0.0));
        FftPlanner::<f64>::new()
            .plan_fft_forward(fft_len)
            .process(&mut buffer);
        Self {
            power: buffer[..fft_len / 2].iter().map(|c| c.norm_sqr()).collect(),
            bin_hz: sample_rate / fft_len as f64,
        }
    }

    /// Frequency of bin `k`, in Hz.
    pub fn frequency_hz(&self, k: usize) -> f64 {
        k as f64 * self.bin_hz
    }

    /// Bins whose frequency lies in `band_hz`, with their power.
    fn band(&self, band_hz: Range<f64>) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.power
            .iter()
            .enumerate()
            .filter(move |(k, _)| band_hz.contains(&self.frequency_hz(*k)))
            .map(|(k, &p)| (k, p))
    }

    /// Total power of the bins in `band_hz`.
    pub fn band_power(&self, band_hz: Range<f64>) -> f64 {
        self.band(band_hz).map(|(_, p)| p).sum()
    }

    /// Frequency of the strongest bin above DC, in Hz (0 for an all-zero spectrum). Accurate to
    /// half a bin.
    pub fn dominant_hz(&self) -> f64 {
        let (k, _) = self
            .power
            .iter()
            .enumerate()
            .skip(1)
            .fold(
                (0, 0.0),
                |best, (k, &p)| if p > best.1 { (k, p) } else { best },
            );
        self.frequency_hz(k)
    }

    /// Spectral centroid in Hz, weighted by amplitude (√power): Σ f·|X| / Σ |X|. Higher means
    /// brighter. 0 for an all-zero spectrum.
    pub fn centroid_hz(&self) -> f64 {
        let (weighted, total) = self
            .power
            .iter()
            .enumerate()
            .fold((0.0, 0.0), |(w, t), (k, p)| {
                (w + p.sqrt() * self.frequency_hz(k), t + p.sqrt())
            });
        weighted / total.max(1e-30)
    }

    /// Spectral flatness in `band_hz`: geometric over arithmetic mean of the bins' power
    /// (each floored at 1e-30), in 0..=1: near 0 for tones, near 1 for white noise.
    pub fn flatness(&self, band_hz: Range<f64>) -> f64 {
        let band: Vec<f64> = self.band(band_hz).map(|(_, p)| p.max(1e-30)).collect();
        let n = band.len().max(1) as f64;
        let log_mean = band.iter().map(|p| p.ln()).sum::<f64>() / n;
        log_mean.exp() / (band.iter().sum::<f64>() / n)
    }

    /// Power per pitch class (C = 0) of the `bins` in `band_hz`, not normalised: each bin goes
    /// to the class of its nearest equal-tempered note (A4 = 440 Hz),
    /// round(69 + 12·log2(f / 440)) mod 12.
    pub fn pitch_class_power(&self, band_hz: Range<f64>, bins: Bins) -> [f64; 12] {
        let mut classes = [0.0; 12];
        for (k, p) in self.band(band_hz) {
            if bins == Bins::Peaks {
                let before = k.checked_sub(1).map_or(0.0, |b| self.power[b]);
                let after = self.power.get(k + 1).copied().unwrap_or(0.0);
                if k == 0 || k + 1 == self.power.len() || p < before || p < after {
                    continue;
                }
            }
            let midi = 69.0 + 12.0 * (self.frequency_hz(k) / 440.0).log2();
            classes[(midi.round() as i64).rem_euclid(12) as usize] += p;
        }
        classes
    }

    /// Chroma: [`Spectrum::pitch_class_power`] of every bin in `band_hz`, normalised to sum 1.
    ///
    /// # Panics
    /// If the band holds no energy at all (a silent render has no key), naming the band.
    pub fn chroma(&self, band_hz: Range<f64>) -> [f64; 12] {
        let classes = self.pitch_class_power(band_hz.clone(), Bins::All);
        let total: f64 = classes.iter().sum();
        assert!(
            total > 0.0,
            "no energy between {} Hz and {} Hz",
            band_hz.start,
            band_hz.end
        );
        classes.map(|c| c / total)
    }
}

/// The pitch class (C = 0) with the most energy in `chroma`.
pub fn strongest_class(chroma: &[f64; 12]) -> usize {
    (0..12)
        .max_by(|&a, &b| chroma[a].total_cmp(&chroma[b]))
        .unwrap_or(0)
}

/// The transposition in semitones (0..12, upwards) that best maps chroma `a` onto chroma `b`:
/// the rotation with the largest cosine similarity between `a` and `b` shifted down by it.
pub fn best_transposition(a: &[f64; 12], b: &[f64; 12]) -> usize {
    let similarity = |semitones: usize| {
        let dot: f64 = (0..12).map(|i| a[i] * b[(i + semitones) % 12]).sum();
        let norm = |v: &[f64; 12]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
        dot / (norm(a) * norm(b))
    };
    (0..12)
        .max_by(|&x, &y| similarity(x).total_cmp(&similarity(y)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SR: f64 = 48_000.0;

    /// Sum of sines (frequency in Hz, amplitude), `seconds` long.
    fn tones(partials: &[(f64, f64)], seconds: f64) -> Vec<f32> {
        (0..(seconds * SR) as usize)
            .map(|n| {
                let t = n as f64 / SR;
                partials
                    .iter()
                    .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
                    .sum::<f64>() as f32
            })
            .collect()
    }

    #[test]
    fn a_tone_is_found_at_its_frequency_and_is_not_flat() {
        let x = tones(&[(440.0, 0.5), (1_000.0, 0.1)], 1.0);
        let spectrum = Spectrum::averaged(&x, &x, SR, 8_192);
        assert!((spectrum.dominant_hz() - 440.0).abs() <= spectrum.bin_hz / 2.0 + 1e-9);
        assert!(spectrum.flatness(60.0..8_000.0) < 0.01);
        let single = Spectrum::single(&x, SR, 65_536);
        assert!((single.dominant_hz() - 440.0).abs() <= single.bin_hz);
        let noise = crate::XorShift::scrambled(1);
        let white: Vec<f32> = std::iter::repeat_with({
            let mut noise = noise;
            move || noise.bipolar()
        })
        .take(48_000)
        .collect();
        let flat = Spectrum::averaged(&white, &white, SR, 8_192).flatness(60.0..8_000.0);
        assert!(flat > 0.5, "white noise flatness {flat}");
    }

    #[test]
    fn brighter_partials_raise_the_centroid() {
        let dark = tones(&[(200.0, 0.5), (2_000.0, 0.05)], 0.5);
        let bright = tones(&[(200.0, 0.5), (2_000.0, 0.4)], 0.5);
        let centroid = |x: &[f32]| Spectrum::averaged(x, x, SR, 8_192).centroid_hz();
        assert!(centroid(&bright) > 1.5 * centroid(&dark));
    }

    #[test]
    fn chroma_names_the_notes_of_a_chord_and_follows_a_transposition() {
        // A C major triad (C4 E4 G4) and the same a fifth up (G4 B4 D5).
        let c = tones(&[(261.63, 0.3), (329.63, 0.3), (392.0, 0.3)], 1.0);
        let g = tones(&[(392.0, 0.3), (493.88, 0.3), (587.33, 0.3)], 1.0);
        let chroma = |x: &[f32]| Spectrum::averaged(x, x, SR, 8_192).chroma(60.0..2_000.0);
        let (in_c, in_g) = (chroma(&c), chroma(&g));
        let triad: f64 = [0, 4, 7].iter().map(|&i| in_c[i]).sum();
        assert!(triad > 0.9, "{in_c:?}");
        assert!((in_c.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(best_transposition(&in_c, &in_g), 7);
        assert!([0, 4, 7].contains(&strongest_class(&in_c)));
        let peaks =
            Spectrum::averaged(&c, &c, SR, 8_192).pitch_class_power(60.0..2_000.0, Bins::Peaks);
        let share = [0, 4, 7].iter().map(|&i| peaks[i]).sum::<f64>() / peaks.iter().sum::<f64>();
        assert!(share > 0.99, "peaks only: {share}");
    }

    #[test]
    #[should_panic(expected = "no energy between 60 Hz and 2000 Hz")]
    fn silence_has_no_chroma() {
        Spectrum::averaged(&[0.0; 16_384], &[0.0; 16_384], SR, 8_192).chroma(60.0..2_000.0);
    }
}
