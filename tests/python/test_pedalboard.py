"""Auralis in pedalboard: an offline host, like a DAW bounce.

pedalboard prepares the plugin in offline mode, where the plugin waits for its engine, so a
render must be complete: no gap, the same samples every time.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from auralis_audio import (
    peak,
    power_spectrum,
    PITCH_CLASSES,
    best_transposition,
    chroma,
    effective_pitch_classes,
    format_chroma,
    in_scale_share,
    rms_dbfs,
    spectral_distance,
)
from auralis_hosts import (
    KEY_NAMES,
    MIN_IN_SCALE,
    PEDALBOARD_WARMUP_S,
    PARAMETER_NAMES,
    SCALE_NAMES,
    assert_plays,
    load_pedalboard,
    render_pedalboard,
)

SAMPLE_RATE = 48000
#: The engine's block (`ENGINE_BLOCK_FRAMES`): offline, the latest a parameter change is heard.
ENGINE_BLOCK_S = 256 / SAMPLE_RATE


def render_with(vst3, seconds: float, **settings) -> np.ndarray:
    """A fresh instance with ``settings`` (pedalboard attribute names and units) rendered from 0."""
    plugin = load_pedalboard(vst3)
    for name, value in settings.items():
        setattr(plugin, name, value)
    return render_pedalboard(plugin, seconds, SAMPLE_RATE)


def test_loads_as_a_stereo_instrument(vst3):
    plugin = load_pedalboard(vst3)
    assert plugin.is_instrument and not plugin.is_effect
    assert plugin.manufacturer_name == "Auralis"
    assert "Instrument" in plugin.category, plugin.category


def test_renders_ten_seconds_offline_complete_and_in_key(vst3):
    plugin = load_pedalboard(vst3)
    started = time.perf_counter()
    audio = render_pedalboard(plugin, 10.0, SAMPLE_RATE)
    elapsed = time.perf_counter() - started
    assert audio.shape == (2, 10 * SAMPLE_RATE), audio.shape
    assert_plays(audio, SAMPLE_RATE, f"pedalboard 10 s render ({elapsed:.2f} s wall)")
    # The default patch is D Dorian: tonal music in that scale, not noise.
    profile = chroma(audio[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    share = in_scale_share(profile, "D", "Dorian")
    assert share > MIN_IN_SCALE, f"only {share:.0%} of the power in D Dorian: {format_chroma(profile)}"


def test_offline_render_is_complete_when_prepared_once(vst3):
    """A fresh instance prepared exactly once, in offline mode, with 8192-frame blocks.

    With ``initialization_timeout=0`` pedalboard skips its warm-up, so the plugin sees a single
    ``setupProcessing(kOffline)`` before it is activated, as in a host that creates an instance
    just to bounce. The render must be as complete as with the warm-up.
    """
    plugin = load_pedalboard(vst3, warmup_s=0.0)
    audio = render_pedalboard(plugin, 4.0, SAMPLE_RATE, buffer_size=8192)
    assert_plays(audio, SAMPLE_RATE, "pedalboard render without warm-up, 8192-frame blocks")


def test_renders_are_identical_for_identical_settings(vst3):
    first = render_with(vst3, 3.0, key="G", scale="Mixolydian", intensity=70)
    second = render_with(vst3, 3.0, key="G", scale="Mixolydian", intensity=70)
    difference = float(np.max(np.abs(first - second)))
    assert difference <= 1e-6, f"two offline renders of the same patch differ by up to {difference:.2e}"


@pytest.mark.parametrize("warmup_s", [PEDALBOARD_WARMUP_S, 0.0], ids=["warmed-up", "prepared-once"])
def test_a_parameter_change_lands_at_the_same_place_in_every_bounce(vst3, warmup_s):
    """A bounce with automation must not depend on how fast the host calls ``process``.

    The change is made between two ``process`` calls (pedalboard with ``reset=False``). One
    bounce goes straight on; the other pauses for 0.3 s first, as a host does when another
    plugin in the chain is slow. Brightness acts on the very next engine block, so the first
    sample where a bounce departs from a bounce without the change shows when the plugin
    applied it. "prepared-once" skips pedalboard's warm-up, so the instance sees a single
    ``setupProcessing(kOffline)`` before activation: it must still behave as a bounce.

    Offline, the engine renders nothing ahead, so the change is heard within the next engine
    block. Activated as realtime instead (nice-plug 0.4.2's VST3 wrapper did that after a single
    ``setupProcessing``), the engine keeps a lead of stale audio and the change is heard that
    lead later; under load that bounce also has gaps.
    """
    change_at_s = 2.0
    reference = render_with(vst3, 2 * change_at_s, brightness=0)

    def bounce(pause_s: float) -> float:
        plugin = load_pedalboard(vst3, warmup_s=warmup_s)
        plugin.brightness = 0
        before = render_pedalboard(plugin, change_at_s, SAMPLE_RATE, buffer_size=512)
        time.sleep(pause_s)
        plugin.brightness = 100
        after = render_pedalboard(plugin, change_at_s, SAMPLE_RATE, buffer_size=512, reset=False)
        audio = np.concatenate([before, after], axis=1)
        departs = np.flatnonzero(np.max(np.abs(audio - reference), axis=0) > 1e-6)
        assert departs.size, "the Brightness change was never heard"
        return departs[0] / SAMPLE_RATE - change_at_s

    straight, paused = bounce(0.0), bounce(0.3)
    assert straight >= 0.0 and paused >= 0.0, f"heard before it was made: {straight:.3f} s, {paused:.3f} s"
    assert abs(paused - straight) < 1e-9, (
        f"the same automation landed {straight * 1e3:.1f} ms after the change in one bounce and "
        f"{paused * 1e3:.1f} ms after it in another: the offline engine runs ahead of the host "
        "with stale parameters, so bounces are not deterministic"
    )
    assert straight <= ENGINE_BLOCK_S, (
        f"the change was heard only {straight * 1e3:.1f} ms after it was made (an engine block is "
        f"{ENGINE_BLOCK_S * 1e3:.1f} ms): the instance renders ahead, as in realtime mode"
    )


def test_parameters_are_listed_by_their_names(vst3):
    plugin = load_pedalboard(vst3)
    names = [param.name for param in plugin.parameters.values()]
    assert len(names) == len(set(names)), f"duplicate names: {names}"
    assert sorted(names) == sorted(PARAMETER_NAMES), f"parameters: {names}"
    params = {param.name: param for param in plugin.parameters.values()}
    assert list(params["Key"].valid_values) == list(KEY_NAMES)
    assert list(params["Scale"].valid_values) == list(SCALE_NAMES)
    assert list(params["Sync to Host"].valid_values) == [False, True]


def test_parameters_are_set_by_name(vst3):
    plugin = load_pedalboard(vst3)
    plugin.key = "F#"
    plugin.scale = "Minor"
    # pedalboard speaks the displayed unit: Intensity is shown in percent.
    plugin.intensity = 90
    params = {param.name: param for param in plugin.parameters.values()}
    assert params["Key"].string_value == "F#"
    assert params["Scale"].string_value == "Minor"
    assert params["Intensity"].raw_value == pytest.approx(0.9, abs=1e-6)
    with pytest.raises(ValueError):
        plugin.key = "H"


@pytest.mark.parametrize("target, semitones", [("F#", 6), ("E", 4)])
def test_key_transposes_the_music(vst3, target, semitones):
    # Below Intensity 60% the composer borrows no chords, so every pitched note is in the scale.
    settings = dict(scale="Minor", intensity=55)
    in_c = chroma(render_with(vst3, 6.0, key="C", **settings)[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    moved = chroma(render_with(vst3, 6.0, key=target, **settings)[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    for key, profile in (("C", in_c), (target, moved)):
        share = in_scale_share(profile, key, "Minor")
        assert share > MIN_IN_SCALE, f"{key} Minor: only {share:.0%} in scale: {format_chroma(profile)}"
    shift, margin = best_transposition(in_c, moved)
    assert shift == semitones, (
        f"C -> {target} moved the pitch classes by {shift} semitones, expected {semitones}\n"
        f"  C:  {format_chroma(in_c)}\n  {target}: {format_chroma(moved)}"
    )
    assert margin > 1.2, f"transposition by {shift} is ambiguous (margin {margin:.2f})"


def test_scale_changes_the_third(vst3):
    major = chroma(render_with(vst3, 6.0, key="C", scale="Major", intensity=55)[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    minor = chroma(render_with(vst3, 6.0, key="C", scale="Minor", intensity=55)[:, 2 * SAMPLE_RATE :], SAMPLE_RATE)
    e, e_flat = PITCH_CLASSES.index("E"), PITCH_CLASSES.index("D#")
    assert major[e] > 5 * major[e_flat], f"C Major lacks its major third: {format_chroma(major)}"
    assert minor[e_flat] > 5 * minor[e], f"C Minor lacks its minor third: {format_chroma(minor)}"
    assert in_scale_share(major, "C", "Major") > MIN_IN_SCALE, format_chroma(major)
    assert in_scale_share(minor, "C", "Minor") > MIN_IN_SCALE, format_chroma(minor)


def test_intensity_changes_the_music(vst3):
    calm = render_with(vst3, 6.0, key="C", scale="Minor", intensity=10)[:, 2 * SAMPLE_RATE :]
    busy = render_with(vst3, 6.0, key="C", scale="Minor", intensity=90)[:, 2 * SAMPLE_RATE :]
    distance = spectral_distance(calm, busy, SAMPLE_RATE)
    calm_classes = effective_pitch_classes(chroma(calm, SAMPLE_RATE))
    busy_classes = effective_pitch_classes(chroma(busy, SAMPLE_RATE))
    figures = (
        f"spectral distance {distance:.1f} dB, pitch classes {calm_classes:.2f} -> {busy_classes:.2f}, "
        f"RMS {rms_dbfs(calm):.1f} -> {rms_dbfs(busy):.1f} dBFS"
    )
    assert distance > 3.0, f"Intensity 10% and 90% sound alike: {figures}"
    assert busy_classes > calm_classes + 0.3, f"more Intensity should bring in more notes: {figures}"


@pytest.mark.parametrize("key, scale", [("D", "Dorian"), ("F#", "Lydian"), ("A", "Minor")])
def test_pitched_energy_falls_on_the_scale(vst3, key, scale):
    """At the default Intensity, at least 85% of the pitched energy is on the scale's notes."""
    audio = render_with(vst3, 20.0, key=key, scale=scale)
    profile = chroma(audio[:, 4 * SAMPLE_RATE :], SAMPLE_RATE)
    share = in_scale_share(profile, key, scale)
    assert share >= 0.85, f"{key} {scale}: {share:.0%} in scale: {format_chroma(profile)}"


def test_a_minute_of_the_default_patch_sits_at_a_sane_level(vst3):
    audio = render_with(vst3, 60.0)
    level = rms_dbfs(audio[:, 5 * SAMPLE_RATE :])
    top = peak(audio)
    assert -30.0 <= level <= -12.0, f"RMS {level:.1f} dBFS"
    assert top <= 0.99, f"peak {top:.3f}"


def test_brightness_raises_the_spectral_centroid(vst3):
    dark = spectral_centroid_hz(render_with(vst3, 20.0, brightness=10)[:, 4 * SAMPLE_RATE :])
    bright = spectral_centroid_hz(render_with(vst3, 20.0, brightness=90)[:, 4 * SAMPLE_RATE :])
    assert bright >= 1.3 * dark, f"centroid {dark:.0f} Hz at 10% -> {bright:.0f} Hz at 90%"


def test_another_seed_is_other_music(vst3):
    first = render_with(vst3, 6.0)
    plugin = load_pedalboard(vst3)
    plugin.parameters["seed"].raw_value = 1234 / 65535
    other = render_pedalboard(plugin, 6.0, SAMPLE_RATE)
    difference = float(np.max(np.abs(first - other)))
    assert difference > 0.01, f"seed 1234 sounds like seed 7 (max difference {difference:.2e})"


def spectral_centroid_hz(audio: np.ndarray) -> float:
    """Amplitude-weighted mean frequency of the mid signal."""
    frequencies, power = power_spectrum(audio, SAMPLE_RATE)
    magnitude = np.sqrt(power)
    return float(np.sum(frequencies * magnitude) / (np.sum(magnitude) + 1e-30))
