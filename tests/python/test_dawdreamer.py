"""Auralis in DawDreamer: a second offline host, scripted the way DawDreamer users script it.

DawDreamer prepares the plugin for offline processing and calls ``process`` back to back. The
audio must be complete, parameters must be reachable by name and index, and automation must be
heard.
"""

from __future__ import annotations

import numpy as np
import pytest

from auralis_audio import (
    power_spectrum,
    best_transposition,
    chroma,
    chroma_distance,
    effective_pitch_classes,
    format_chroma,
    in_scale_share,
    rms_dbfs,
    strong_pitch_classes,
)
from auralis_hosts import KEY_NAMES, MIN_IN_SCALE, PARAMETER_NAMES, SCALE_NAMES, DawDreamerHost, assert_plays

SAMPLE_RATE = 44100
BLOCK_FRAMES = 512


def test_renders_ten_seconds_without_gaps(vst3):
    host = DawDreamerHost.load(vst3, SAMPLE_RATE, BLOCK_FRAMES)
    audio = host.render(10.0)
    assert audio.shape == (2, 10 * SAMPLE_RATE)
    assert_plays(audio, SAMPLE_RATE, "DawDreamer 10 s at 44.1 kHz, 512-frame blocks")
    profile = chroma(audio[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    share = in_scale_share(profile, "D", "Dorian")
    assert share > MIN_IN_SCALE, f"default patch not in D Dorian ({share:.0%}): {format_chroma(profile)}"


@pytest.mark.parametrize("block_frames", [1024, 2048, 4096])
def test_large_host_blocks_play_without_gaps(vst3, block_frames):
    """DAWs run at 1024-4096 frames per block when the user asks for safety over latency.

    Each block must be filled whatever its size, not only blocks shorter than the engine's
    realtime lead.
    """
    host = DawDreamerHost.load(vst3, SAMPLE_RATE, block_frames)
    audio = host.render(4.0)
    block_ms = block_frames / SAMPLE_RATE * 1e3
    assert_plays(audio, SAMPLE_RATE, f"DawDreamer, {block_frames}-frame blocks ({block_ms:.0f} ms)")


def test_parameters_are_reachable_by_name_and_index(vst3):
    host = DawDreamerHost.load(vst3, SAMPLE_RATE, BLOCK_FRAMES)
    names = host.names()
    assert sorted(names) == sorted(PARAMETER_NAMES), f"parameters: {names}"

    # By name for Key and Scale, by index for Intensity, as scripts do both.
    host.set_choice("Key", "C", KEY_NAMES)
    host.set_choice("Scale", "Minor", SCALE_NAMES)
    intensity = names.index("Intensity")
    # 0.55: below 0.6 the composer borrows no chords from the parallel mode, so every
    # pitched note is in the scale.
    assert host.plugin.set_parameter(intensity, 0.55)
    in_c = host.render(6.0)

    host.set_choice("Key", "F#", KEY_NAMES)
    in_f_sharp = host.render(6.0)
    shown = {name: host.plugin.get_parameter_text(i) for i, name in enumerate(names)}
    assert (shown["Key"], shown["Scale"], shown["Intensity"]) == ("F#", "Minor", "55"), shown

    for what, audio in (("C Minor", in_c), ("F# Minor", in_f_sharp)):
        assert_plays(audio, SAMPLE_RATE, f"DawDreamer, {what}")
    profile_c = chroma(in_c[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    profile_f_sharp = chroma(in_f_sharp[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    assert in_scale_share(profile_f_sharp, "F#", "Minor") > MIN_IN_SCALE, format_chroma(profile_f_sharp)
    shift, margin = best_transposition(profile_c, profile_f_sharp)
    assert shift == 6 and margin > 1.2, (
        f"Key C -> F# moved the music by {shift} semitones (margin {margin:.2f})\n"
        f"  C:  {format_chroma(profile_c)}\n  F#: {format_chroma(profile_f_sharp)}"
    )


def test_intensity_automation_is_heard(vst3):
    """Intensity ramps 0 -> 1 over 12 s; the music must follow it.

    The same render with Intensity held at 0 is the control. Same seed, same start: the two
    are the same music until the automation takes effect (the composer applies Intensity at
    the next bar for percussion and texture, at the next phrase for harmony and melody), and
    then the automated one must be clearly busier: percussion comes in. The calm patch has a
    steady breath of air in the upper bands, so what tells the strikes is how far the upper
    band's loudest moments stand above its usual level, not its energy alone.
    """
    seconds = 12.0
    frames = int(seconds * SAMPLE_RATE)

    automated = DawDreamerHost.load(vst3, SAMPLE_RATE, BLOCK_FRAMES)
    automated.automate("Intensity", np.linspace(0.0, 1.0, frames, dtype=np.float32))
    ramp = automated.render(seconds)

    held = DawDreamerHost.load(vst3, SAMPLE_RATE, BLOCK_FRAMES)
    held.set_normalized("Intensity", 0.0)
    control = held.render(seconds)

    assert_plays(ramp, SAMPLE_RATE, "DawDreamer with Intensity automation")
    assert_plays(control, SAMPLE_RATE, "DawDreamer with Intensity held at 0")
    early = slice(0, SAMPLE_RATE)
    late = slice(frames - 4 * SAMPLE_RATE, frames)
    divergence_early = rms_dbfs(ramp[:, early] - control[:, early])
    divergence_late = rms_dbfs(ramp[:, late] - control[:, late])
    busier_db = band_energy_db(ramp[:, late], 2000.0, 10000.0) - band_energy_db(control[:, late], 2000.0, 10000.0)
    strikes_ramp = band_peaks_over_median_db(ramp[:, late], 2000.0, 10000.0)
    strikes_control = band_peaks_over_median_db(control[:, late], 2000.0, 10000.0)
    figures = (
        f"ramp - control: {divergence_early:.1f} dBFS in the first second, {divergence_late:.1f} dBFS in "
        f"the last 4 s; 2-10 kHz energy {busier_db:+.1f} dB against the control, its peaks "
        f"{strikes_ramp:.1f} dB over its median ({strikes_control:.1f} dB in the control)"
    )
    assert divergence_late > -45.0, f"automation not heard: {figures}"
    assert divergence_late > divergence_early + 20.0, f"the renders differ before the automation: {figures}"
    assert busier_db > 0.0, f"higher Intensity should bring in more (percussion, notes): {figures}"
    assert strikes_ramp > strikes_control + 4.0, f"higher Intensity should bring in percussion: {figures}"


def band_energy_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Energy of the mid signal between ``low_hz`` and ``high_hz``, in dB."""
    frequencies, power = power_spectrum(audio, SAMPLE_RATE)
    band = (frequencies >= low_hz) & (frequencies < high_hz)
    return 10.0 * np.log10(float(np.sum(power[band])) + 1e-30)


def band_peaks_over_median_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    """How far the loudest 1 % of 10 ms moments of the mid signal's ``low_hz``-``high_hz`` band
    stand above its median moment, in dB: strikes stand out, a steady bed or noise does not."""
    mid = audio.mean(axis=0)
    window, hop = 2048, SAMPLE_RATE // 100
    frequencies = np.fft.rfftfreq(window, 1.0 / SAMPLE_RATE)
    band = (frequencies >= low_hz) & (frequencies < high_hz)
    taper = np.hanning(window)
    energies = np.array([
        np.sum(np.abs(np.fft.rfft(mid[start:start + window] * taper))[band] ** 2)
        for start in range(0, mid.size - window, hop)
    ])
    median = float(np.median(energies)) + 1e-30
    return 10.0 * np.log10(float(np.percentile(energies, 99)) / median + 1e-30)
