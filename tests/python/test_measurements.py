"""The measurements the host tests rely on, checked on synthetic signals.

Every host test asserts through these functions; if one of them could not see a gap, a wrong
key or noise, the host tests could not fail. These run in milliseconds and need no plugin.
"""

from __future__ import annotations

import numpy as np
import pytest

from auralis_audio import (
    PITCH_CLASSES,
    best_transposition,
    chroma,
    effective_pitch_classes,
    in_scale_share,
    longest_gap_s,
    rms_dbfs,
    spectral_distance,
    strong_pitch_classes,
)

SR = 48000


def tones(midi_notes, seconds=3.0, partials=6, sample_rate=SR) -> np.ndarray:
    """Stereo sum of harmonic tones (1/k amplitudes), -20 dBFS-ish."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = np.zeros_like(t)
    for note in midi_notes:
        freq = 440.0 * 2.0 ** ((note - 69) / 12.0)
        for k in range(1, partials + 1):
            if freq * k < sample_rate / 2:
                mono += np.sin(2 * np.pi * freq * k * t + note) / k**1.5
    mono *= 0.05
    return np.stack([mono, 0.9 * mono]).astype(np.float32)


C_MINOR_7 = (48, 51, 55, 58)  # C3 Eb3 G3 Bb3


def test_gap_detection_sees_a_short_dropout_and_nothing_else():
    audio = tones([57])
    assert longest_gap_s(audio, SR, after_s=0.1) <= 1.0 / SR
    audio[:, SR // 2 : SR // 2 + int(0.025 * SR)] = 0.0
    assert longest_gap_s(audio, SR, after_s=0.1) == pytest.approx(0.025, abs=1.0 / SR)
    # Silence at the very start is startup, not a gap.
    audio = tones([57])
    audio[:, : int(0.05 * SR)] = 0.0
    assert longest_gap_s(audio, SR, after_s=0.1) == 0.0


def test_chroma_names_the_chord_and_its_transposition():
    in_c = chroma(tones(C_MINOR_7), SR)
    assert {PITCH_CLASSES[pc] for pc in strong_pitch_classes(in_c)} == {"C", "D#", "G", "A#"}
    assert in_scale_share(in_c, "C", "Minor") > 0.95
    in_f_sharp = chroma(tones([n + 6 for n in C_MINOR_7]), SR)
    in_e = chroma(tones([n + 4 for n in C_MINOR_7]), SR)
    assert best_transposition(in_c, in_f_sharp)[0] == 6
    assert best_transposition(in_c, in_e)[0] == 4  # up a third, not down
    assert best_transposition(in_c, in_e)[1] > 1.2


def test_noise_is_not_in_any_key():
    noise = np.random.default_rng(3).normal(0.0, 0.1, (2, 3 * SR)).astype(np.float32)
    assert in_scale_share(chroma(noise, SR), "D", "Dorian") < 0.75


def test_more_notes_count_as_more_pitch_classes_and_a_different_spectrum():
    triad = tones(C_MINOR_7[:3])
    seventh = tones(C_MINOR_7)
    assert effective_pitch_classes(chroma(tones([48]), SR)) < 2.0
    assert effective_pitch_classes(chroma(seventh, SR)) > effective_pitch_classes(chroma(triad, SR)) + 0.3
    assert spectral_distance(triad, triad, SR) == pytest.approx(0.0, abs=1e-9)
    assert spectral_distance(triad, seventh, SR) > 3.0
    # Level alone is not a spectral change.
    assert spectral_distance(triad, 0.5 * triad, SR) == pytest.approx(0.0, abs=1e-6)
    assert rms_dbfs(0.5 * triad) == pytest.approx(rms_dbfs(triad) - 6.02, abs=0.01)
    assert rms_dbfs(np.zeros((2, 10))) == float("-inf")
