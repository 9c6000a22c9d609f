//! Which key a set of notes is in: the Krumhansl–Schmuckler key-finding algorithm.
//!
//! The input is a pitch-class profile (how long, how loud each of the twelve pitch classes
//! sounded). It is correlated with the Krumhansl–Kessler probe-tone profiles of the 24 major
//! and minor keys; the key whose profile correlates best is the estimate. Pure and
//! allocation-free; any thread.

use crate::music::{Key, Scale};

/// Krumhansl–Kessler probe-tone ratings of each scale degree in a major key (C major: C, C#, …).
const MAJOR_PROFILE: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// The same for a minor key (C minor).
const MINOR_PROFILE: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// A key estimate: tonic, mode (major or natural minor) and how well the notes fit it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyEstimate {
    /// The tonic.
    pub key: Key,
    /// [`Scale::Major`] or [`Scale::Minor`].
    pub scale: Scale,
    /// Pearson correlation of the notes with the key's profile, -1..=1.
    pub fit: f64,
}

/// The best-fitting major or minor key for `profile` (pitch class 0 = C), and its fit; `None`
/// when the profile is flat (silence, or every pitch class alike), which fits no key.
pub fn estimate_key(profile: &[f64; 12]) -> Option<KeyEstimate> {
    let mut best: Option<KeyEstimate> = None;
    for tonic in 0..12u8 {
        for (scale, template) in [
            (Scale::Major, &MAJOR_PROFILE),
            (Scale::Minor, &MINOR_PROFILE),
        ] {
            let fit = key_fit(profile, tonic, template)?;
            if best.is_none_or(|b| fit > b.fit) {
                best = Some(KeyEstimate {
                    key: Key::ALL[usize::from(tonic)],
                    scale,
                    fit,
                });
            }
        }
    }
    best
}

/// How well `profile` fits `key` in `scale` (major, or minor for every minor-sounding mode),
/// as the correlation [`estimate_key`] maximises; `None` for a flat profile.
pub fn fit_to(profile: &[f64; 12], key: Key, scale: Scale) -> Option<f64> {
    let template = if scale.has_minor_third() {
        &MINOR_PROFILE
    } else {
        &MAJOR_PROFILE
    };
    key_fit(profile, key.index(), template)
}

/// Pearson correlation of `profile` with `template` rotated to `tonic`.
fn key_fit(profile: &[f64; 12], tonic: u8, template: &[f64; 12]) -> Option<f64> {
    let rotated = |pc: usize| template[(pc + 12 - usize::from(tonic)) % 12];
    let mean_p = profile.iter().sum::<f64>() / 12.0;
    let mean_t = template.iter().sum::<f64>() / 12.0;
    let (mut covariance, mut var_p, mut var_t) = (0.0, 0.0, 0.0);
    for (pc, &p) in profile.iter().enumerate() {
        let (dp, dt) = (p - mean_p, rotated(pc) - mean_t);
        covariance += dp * dt;
        var_p += dp * dp;
        var_t += dt * dt;
    }
    let norm = (var_p * var_t).sqrt();
    (norm > 1e-12 && norm.is_finite()).then(|| covariance / norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile where each listed pitch class sounded for `weight`.
    fn profile(notes: &[(u8, f64)]) -> [f64; 12] {
        let mut profile = [0.0; 12];
        for &(pc, weight) in notes {
            profile[usize::from(pc % 12)] += weight;
        }
        profile
    }

    #[test]
    fn scales_and_melodies_are_heard_in_their_keys() {
        // C major scale, tonic and dominant longest.
        let c_major = profile(&[
            (0, 3.0),
            (2, 1.0),
            (4, 2.0),
            (5, 1.0),
            (7, 2.5),
            (9, 1.0),
            (11, 1.0),
        ]);
        let estimate = estimate_key(&c_major).expect("an estimate");
        assert_eq!((estimate.key, estimate.scale), (Key::C, Scale::Major));
        // An A minor melody with its raised leading tone: A C E, G#, D, B.
        let a_minor = profile(&[
            (9, 4.0),
            (0, 2.5),
            (4, 2.5),
            (8, 0.8),
            (2, 1.0),
            (11, 1.0),
            (5, 0.7),
        ]);
        let estimate = estimate_key(&a_minor).expect("an estimate");
        assert_eq!((estimate.key, estimate.scale), (Key::A, Scale::Minor));
        assert!(estimate.fit > 0.7, "{estimate:?}");
    }

    #[test]
    fn every_transposition_is_found() {
        for tonic in 0..12u8 {
            let triad = profile(&[
                (tonic, 3.0),
                (tonic + 4, 2.0),
                (tonic + 7, 2.0),
                (tonic + 2, 0.5),
            ]);
            let estimate = estimate_key(&triad).expect("an estimate");
            assert_eq!(estimate.key.index(), tonic);
            assert_eq!(estimate.scale, Scale::Major);
        }
    }

    #[test]
    fn silence_and_a_flat_profile_fit_no_key() {
        assert_eq!(estimate_key(&[0.0; 12]), None);
        assert_eq!(estimate_key(&[1.0; 12]), None);
        assert_eq!(estimate_key(&[f64::NAN; 12]), None);
        assert_eq!(fit_to(&[0.0; 12], Key::C, Scale::Major), None);
    }

    #[test]
    fn modes_fit_through_their_major_or_minor_parent_profile() {
        let d_dorian = profile(&[(2, 3.0), (5, 2.0), (9, 2.0), (11, 0.5), (0, 0.5)]);
        let minor = fit_to(&d_dorian, Key::D, Scale::Dorian).expect("a fit");
        let major = fit_to(&d_dorian, Key::D, Scale::Major).expect("a fit");
        assert!(minor > major, "{minor} vs {major}");
    }
}
