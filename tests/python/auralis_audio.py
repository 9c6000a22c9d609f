"""Measurements on rendered audio, shared by the host tests.

Everything here is plain numpy on arrays shaped ``(channels, frames)``, the layout both
pedalboard and DawDreamer return. The measurements are chosen to say something a listener
would notice (level, silence, which pitch classes sound), and to be independent of the exact
notes the composer picks, so the same assertions hold for the placeholder chord of the
foundation release and for the composer that replaces it.
"""

from __future__ import annotations

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

#: Semitones above the tonic of each scale the plugin offers (names as the Scale parameter
#: displays them).
SCALE_STEPS = {
    "Major": (0, 2, 4, 5, 7, 9, 11),
    "Minor": (0, 2, 3, 5, 7, 8, 10),
    "Dorian": (0, 2, 3, 5, 7, 9, 10),
    "Phrygian": (0, 1, 3, 5, 7, 8, 10),
    "Lydian": (0, 2, 4, 6, 7, 9, 11),
    "Mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "Major Pentatonic": (0, 2, 4, 7, 9),
    "Minor Pentatonic": (0, 3, 5, 7, 10),
}

#: Chroma analysis band. Below 55 Hz a semitone is narrower than a few FFT bins; above 5 kHz
#: there is little pitch information in this music and more noise (percussion, reverb).
CHROMA_LOW_HZ = 55.0
CHROMA_HIGH_HZ = 5000.0
#: FFT length for chroma: 1.5 Hz bins at 48 kHz, fine enough to separate semitones at 55 Hz.
CHROMA_FFT_FRAMES = 32768


def check_shape(audio: np.ndarray, channels: int = 2) -> None:
    """Asserts ``audio`` is ``(channels, frames)`` float data with at least one frame."""
    assert audio.ndim == 2, f"expected (channels, frames), got shape {audio.shape}"
    assert audio.shape[0] == channels, f"expected {channels} channels, got shape {audio.shape}"
    assert audio.shape[1] > 0, "no frames rendered"


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level over all channels, in dB relative to a full-scale square wave (-inf if silent)."""
    mean_square = float(np.mean(np.square(audio, dtype=np.float64)))
    return 10.0 * np.log10(mean_square) if mean_square > 0.0 else float("-inf")


def peak(audio: np.ndarray) -> float:
    """Largest absolute sample value."""
    return float(np.max(np.abs(audio)))


def digital_silence_runs(audio: np.ndarray, sample_rate: float, after_s: float) -> list[tuple[float, float]]:
    """Runs of exact digital silence (every channel exactly 0.0) that start at or after ``after_s``.

    Returns ``(start_s, length_s)`` pairs in order. A sustained tone crosses zero on both
    channels at once for a sample at most, so any run of more than a few samples is a gap:
    the plugin's underrun handling fades to exactly 0.0 and stays there until it recovers.
    """
    silent = np.all(audio == 0.0, axis=0)
    edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    first = int(after_s * sample_rate)
    runs = []
    for start, end in zip(starts, ends):
        end = int(end)
        start = max(int(start), first)
        if end > start:
            runs.append((start / sample_rate, (end - start) / sample_rate))
    return runs


def longest_gap_s(audio: np.ndarray, sample_rate: float, after_s: float) -> float:
    """Length of the longest run of exact digital silence at or after ``after_s``, in seconds."""
    return max((length for _, length in digital_silence_runs(audio, sample_rate, after_s)), default=0.0)


def describe_gaps(audio: np.ndarray, sample_rate: float, after_s: float, min_s: float) -> str:
    """A short human-readable list of the gaps longer than ``min_s``, for assertion messages."""
    runs = [r for r in digital_silence_runs(audio, sample_rate, after_s) if r[1] > min_s]
    shown = ", ".join(f"{length * 1e3:.1f} ms at {start:.3f} s" for start, length in runs[:8])
    more = f" (and {len(runs) - 8} more)" if len(runs) > 8 else ""
    return f"{len(runs)} gap(s): {shown}{more}" if runs else "no gaps"


def power_spectrum(audio: np.ndarray, sample_rate: float, fft_frames: int = CHROMA_FFT_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """Welch-averaged power spectrum of the mono mix: ``(freqs_hz, power)``.

    Hann windows of ``fft_frames`` with 50 % overlap; a signal shorter than one window is
    zero-padded.
    """
    mono = np.mean(audio, axis=0, dtype=np.float64)
    if mono.size < fft_frames:
        mono = np.pad(mono, (0, fft_frames - mono.size))
    window = np.hanning(fft_frames)
    hop = fft_frames // 2
    power = np.zeros(fft_frames // 2 + 1)
    count = 0
    for start in range(0, mono.size - fft_frames + 1, hop):
        power += np.abs(np.fft.rfft(mono[start : start + fft_frames] * window)) ** 2
        count += 1
    freqs = np.fft.rfftfreq(fft_frames, 1.0 / sample_rate)
    return freqs, power / max(count, 1)


def chroma(audio: np.ndarray, sample_rate: float) -> np.ndarray:
    """Share of spectral power in each of the 12 pitch classes (C first), summing to 1.

    Each FFT bin between ``CHROMA_LOW_HZ`` and ``CHROMA_HIGH_HZ`` goes to its nearest
    equal-tempered pitch class (A4 = 440 Hz). Harmonics land on their own pitch classes (the
    3rd harmonic a fifth up, the 5th a major third up), which is what an ear hears too.
    """
    freqs, power = power_spectrum(audio, sample_rate)
    band = (freqs >= CHROMA_LOW_HZ) & (freqs <= CHROMA_HIGH_HZ)
    midi = 69.0 + 12.0 * np.log2(freqs[band] / 440.0)
    classes = np.mod(np.rint(midi).astype(int), 12)
    profile = np.bincount(classes, weights=power[band], minlength=12)
    total = profile.sum()
    assert total > 0.0, "no spectral power in the chroma band: silent render?"
    return profile / total


def format_chroma(profile: np.ndarray) -> str:
    """``C 31% C# 0% ...`` for assertion messages."""
    return " ".join(f"{name} {share * 100:.0f}%" for name, share in zip(PITCH_CLASSES, profile))


def strong_pitch_classes(profile: np.ndarray, within_db: float = 10.0) -> list[int]:
    """Pitch classes within ``within_db`` of the strongest one, strongest first."""
    threshold = profile.max() * 10.0 ** (-within_db / 10.0)
    return [int(pc) for pc in np.argsort(profile)[::-1] if profile[pc] >= threshold]


def effective_pitch_classes(profile: np.ndarray) -> float:
    """How many pitch classes sound, as the perplexity of the chroma distribution.

    1.0 for a single pitch class, 12.0 for all twelve equally; a chord of four equally loud
    tones with weak harmonics comes out a little above 4. Unlike a count above a threshold it
    changes smoothly, so a tone fading in raises it gradually.
    """
    shares = profile[profile > 0.0]
    return float(np.exp(-np.sum(shares * np.log(shares))))


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two chroma profiles: 0 for the same pitch content, 1
    for disjoint. Dropouts and level changes hardly move it; a note fading in does."""
    return 0.5 * float(np.abs(a - b).sum())


def best_transposition(reference: np.ndarray, transposed: np.ndarray) -> tuple[int, float]:
    """The shift ``s`` (0..11 semitones up) that best maps ``reference`` onto ``transposed``.

    Returns ``(s, margin)`` where margin is how much better (as a ratio of circular
    correlations) ``s`` fits than the runner-up: a clear transposition has a margin well
    above 1.
    """
    scores = np.array([np.dot(np.roll(reference, shift), transposed) for shift in range(12)])
    order = np.argsort(scores)[::-1]
    runner_up = scores[order[1]]
    margin = scores[order[0]] / runner_up if runner_up > 0 else float("inf")
    return int(order[0]), float(margin)


def in_scale_share(profile: np.ndarray, key: str, scale: str) -> float:
    """Share of chroma power that falls on the notes of ``key`` ``scale``."""
    tonic = PITCH_CLASSES.index(key)
    notes = [(tonic + step) % 12 for step in SCALE_STEPS[scale]]
    return float(profile[notes].sum())


def spectral_distance(a: np.ndarray, b: np.ndarray, sample_rate: float) -> float:
    """Distance between the normalised log-power spectra of two renders, in dB (RMS over bins).

    Level differences are removed first (each spectrum is normalised to its own total power)
    so this measures a change of timbre or notes, not of loudness. Bins more than 60 dB below
    the louder spectrum's peak are ignored, so that numerical noise does not count.
    """
    freqs, pa = power_spectrum(a, sample_rate, fft_frames=8192)
    _, pb = power_spectrum(b, sample_rate, fft_frames=8192)
    band = (freqs >= CHROMA_LOW_HZ) & (freqs <= CHROMA_HIGH_HZ)
    pa, pb = pa[band] / pa[band].sum(), pb[band] / pb[band].sum()
    floor = max(pa.max(), pb.max()) * 1e-6
    keep = (pa > floor) | (pb > floor)
    diff_db = 10.0 * np.log10(np.maximum(pa[keep], floor) / np.maximum(pb[keep], floor))
    return float(np.sqrt(np.mean(diff_db**2)))
