"""How ambient a render is, in four figures a listener would recognise.

The figures (issue 21), each from a render of the standalone's ``render`` subcommand:

``crest_db``
    Crest factor of the whole mix, peak over RMS in dB, over both channels. Plucks and hits
    that stand out of the bed raise the peak and not the RMS.
``transient_share``
    How much of the spectral change arrives as sudden onsets rather than as slow movement.
    The spectral flux is librosa's onset strength (the rise of a 128-band log-mel spectrum
    from one 10.7 ms frame to the next, averaged over the bands); its slow part is its running
    median over one second, and the share is the energy of what stands above that median over
    the energy of the whole flux, 0..1.
``onset_rate_per_min``
    Onsets per minute: peaks of that flux that stand at least ``ONSET_DELTA`` (a mean rise of
    1 dB per band) above its average over the 0.1 s around them (librosa's ``onset_detect``,
    without its per-file normalisation, so a quiet file does not turn its noise into onsets).
``pad_flux``
    Movement inside the pad, measured on a render of the pad layer alone (``render
    --solo-layer pad``): the mean absolute change, in dB per band, of a 64-band log-mel
    spectrum between 40 Hz and 8 kHz (power averaged over ``PAD_LAG_S``) from one moment to the
    moment ``PAD_LAG_S`` later, with
    bands more than 60 dB below the loudest ignored; the median over the render, so the chord
    changes (which are composition, not timbre) do not count.

Also ``lufs``: integrated loudness (ITU-R BS.1770) with pyloudnorm.

Run it directly to print the figures of every factory preset::

    python tests/python/ambience.py --standalone target/release/auralis
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import librosa
import numpy as np
import pyloudnorm
import scipy.ndimage
import soundfile

#: Length of every render, seconds.
SECONDS = 90
#: Analysis hop in frames (10.7 ms at 48 kHz), librosa's default.
HOP = 512
#: Window of the running median that is the flux's slow part, seconds.
BACKGROUND_S = 1.0
#: Least rise above the local average that counts as an onset: a mean of 1 dB per mel band.
#: The flux of a sustained bed with reverb stays below about 0.6.
ONSET_DELTA = 1.0
#: How far apart the two moments compared by the pad flux are, and how long each is averaged
#: over, seconds: the pad's movements take seconds, so frame-to-frame flux would only see the
#: beating of its detuned partials.
PAD_LAG_S = 1.0
#: Band of the pad flux, Hz: where the pad's partials are.
PAD_BAND_HZ = (40.0, 8000.0)
#: Bands this far below the loudest are left out of the pad flux, dB: their changes are the
#: reverb's noise floor, not the pad.
PAD_FLOOR_DB = 60.0

#: The factory presets, by the name ``render --preset`` takes.
PRESETS = ("Auralis", "Dawn", "Deep Field", "Glass Garden", "Night Drive", "Tidal")


@dataclass(frozen=True)
class Figures:
    """The figures of one preset."""

    crest_db: float
    transient_share: float
    onset_rate_per_min: float
    pad_flux: float
    lufs: float


def read(path: Path) -> tuple[np.ndarray, int]:
    """The render at ``path`` as ``(frames, channels)`` float32, and its sample rate."""
    audio, sample_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return audio, int(sample_rate)


def crest_db(audio: np.ndarray) -> float:
    """Peak over RMS of every sample of every channel, in dB."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20.0 * float(np.log10(float(np.max(np.abs(audio))) / rms))


def flux(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """librosa's onset strength: the spectral flux of a log-mel spectrogram, one value a hop."""
    return librosa.onset.onset_strength(y=mono, sr=sample_rate, hop_length=HOP)


def transient_share(envelope: np.ndarray, sample_rate: int) -> float:
    """Energy of the flux above its one-second running median over the energy of all of it."""
    size = int(round(BACKGROUND_S * sample_rate / HOP)) | 1
    background = scipy.ndimage.median_filter(envelope, size=size, mode="nearest")
    sudden = np.maximum(envelope - background, 0.0)
    total = float(np.sum(np.square(envelope, dtype=np.float64)))
    return float(np.sum(np.square(sudden, dtype=np.float64))) / total if total > 0.0 else 0.0


def onset_rate_per_min(envelope: np.ndarray, sample_rate: int, seconds: float) -> float:
    """Onsets per minute in the flux ``envelope`` of ``seconds`` of audio."""
    onsets = librosa.onset.onset_detect(
        onset_envelope=envelope,
        sr=sample_rate,
        hop_length=HOP,
        normalize=False,
        delta=ONSET_DELTA,
    )
    return len(onsets) * 60.0 / seconds


def pad_flux(mono: np.ndarray, sample_rate: int) -> float:
    """Median spectral movement of ``mono`` (the pad alone) over ``PAD_LAG_S``, dB per band."""
    mel = librosa.feature.melspectrogram(
        y=mono, sr=sample_rate, hop_length=HOP, n_mels=64, fmin=PAD_BAND_HZ[0], fmax=PAD_BAND_HZ[1]
    )
    frames = int(round(PAD_LAG_S * sample_rate / HOP))
    # Power averaged over the lag, so the beating of detuned partials (a few per second)
    # averages out and what is left is the slow change of the spectrum.
    mel = scipy.ndimage.uniform_filter1d(mel, size=frames, axis=1, mode="nearest")
    db = librosa.power_to_db(mel, ref=np.max, top_db=None)
    db = np.maximum(db, -PAD_FLOOR_DB)
    change = np.mean(np.abs(db[:, frames:] - db[:, :-frames]), axis=0)
    return float(np.median(change))


def lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS."""
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio))


def measure(mix: Path, pad: Path) -> Figures:
    """The figures of a render of the whole mix and one of its pad alone."""
    audio, sample_rate = read(mix)
    mono = audio.mean(axis=1)
    envelope = flux(mono, sample_rate)
    pad_audio, pad_rate = read(pad)
    return Figures(
        crest_db=crest_db(audio),
        transient_share=transient_share(envelope, sample_rate),
        onset_rate_per_min=onset_rate_per_min(envelope, sample_rate, len(mono) / sample_rate),
        pad_flux=pad_flux(pad_audio.mean(axis=1), pad_rate),
        lufs=lufs(audio, sample_rate),
    )


def render(standalone: Path, preset: str, out: Path, *flags: str) -> None:
    """Renders ``SECONDS`` of ``preset`` on the CPU to ``out``."""
    result = subprocess.run(
        [str(standalone), "render", "--preset", preset, "--seconds", str(SECONDS),
         "--renderer", "cpu", "--out", str(out), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"render --preset {preset!r} failed: {result.stderr.strip()}")


def measure_preset(standalone: Path, preset: str, directory: Path) -> Figures:
    """Renders ``preset`` (whole mix and pad alone) into ``directory`` and measures it."""
    stem = preset.lower().replace(" ", "-")
    mix = directory / f"{stem}.wav"
    pad = directory / f"{stem}-pad.wav"
    render(standalone, preset, mix)
    render(standalone, preset, pad, "--solo-layer", "pad")
    return measure(mix, pad)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--standalone", type=Path, required=True, help="the auralis binary")
    parser.add_argument("--keep", type=Path, help="keep the renders in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        directory = args.keep or Path(temp)
        directory.mkdir(parents=True, exist_ok=True)
        figures = {p: asdict(measure_preset(args.standalone, p, directory)) for p in PRESETS}
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
