"""Validation breadth in the VST3 hosts: every sample rate a DAW offers, block sizes from one
frame to 8192 and changing from call to call, parameters fuzzed with values no sane host sends,
state that reloads to the same bytes, and several instances alive at once.

pedalboard renders offline, where the plugin waits for its engine: its renders must be
complete and deterministic, so block sizes and neighbouring instances are checked by exact
comparison with a plain render. Through DawDreamer, a second offline host, what a listener would
notice is asserted (finite, within full scale, audible); exact comparisons are left to the
pedalboard checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from auralis_audio import chroma, format_chroma, in_scale_share, longest_gap_s, peak, rms_dbfs
from auralis_hosts import (
    DEFAULT_DISPLAY,
    KEY_NAMES,
    MAX_GAP_S,
    MAX_RMS_DBFS,
    MIN_IN_SCALE,
    MIN_RMS_DBFS,
    SETTLE_S,
    STARTUP_S,
    DawDreamerHost,
    assert_plays,
    load_pedalboard,
    parameter_raw_values,
    parameter_strings,
    render_pedalboard,
)

SAMPLE_RATES = (44100, 48000, 96000, 192000)
MAX_BLOCK = 8192
#: Two offline renders of the same music differ by no more than rounding.
SAME_SAMPLES = 1e-6


def assert_same(reference: np.ndarray, audio: np.ndarray, what: str) -> None:
    """``audio`` is the start of ``reference``, sample for sample."""
    frames = audio.shape[1]
    assert frames <= reference.shape[1], f"{what}: {frames} frames, more than the reference"
    difference = np.max(np.abs(reference[:, :frames] - audio), axis=0)
    departs = np.flatnonzero(difference > SAME_SAMPLES)
    assert departs.size == 0, (
        f"{what}: departs from the reference render at frame {departs[0]} "
        f"({departs[0] / frames:.0%} in) by up to {difference.max():.2e}"
    )


def assert_sane(audio: np.ndarray, what: str) -> None:
    assert np.all(np.isfinite(audio)), f"{what}: non-finite samples"
    assert peak(audio) <= 1.0, f"{what}: peak {peak(audio):.3f} beyond full scale"


def duration_of(frames: int, sample_rate: int) -> float:
    """The duration pedalboard turns into exactly ``frames`` frames: it truncates, and
    ``frames / sample_rate * sample_rate`` can come out a hair below ``frames``."""
    return (frames + 0.5) / sample_rate


def render_varied(plugin, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Renders from the top in calls whose block size changes every time, 1 to 8192 frames.

    pedalboard prepares the plugin again (which starts the music over) when a call's block
    size exceeds what it was prepared for, so the first call uses the largest size; after that,
    each call is one to three blocks of a log-uniform random size, the last one often partial.
    """
    parts = [render_pedalboard(plugin, duration_of(MAX_BLOCK, sample_rate), sample_rate, buffer_size=MAX_BLOCK)]
    rendered = parts[0].shape[1]
    total = int(seconds * sample_rate)
    while rendered < total:
        block = int(round(math.exp(rng.uniform(0.0, math.log(MAX_BLOCK)))))
        frames = min(int(rng.integers(1, 3 * block + 1)), total - rendered)
        parts.append(render_pedalboard(plugin, duration_of(frames, sample_rate), sample_rate, buffer_size=block, reset=False))
        assert parts[-1].shape[1] == frames, f"asked for {frames} frames, got {parts[-1].shape}"
        rendered += frames
    return np.concatenate(parts, axis=1)


# ---------------------------------------------------------------------------------------------
# Sample rates and block sizes


@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_pedalboard_renders_the_same_complete_audio_at_any_block_size(vst3, sample_rate):
    plugin = load_pedalboard(vst3)
    reference = render_pedalboard(plugin, 3.0, sample_rate, buffer_size=512)
    assert_plays(reference, sample_rate, f"pedalboard {sample_rate} Hz, 512-frame blocks")

    largest = render_pedalboard(plugin, 3.0, sample_rate, buffer_size=MAX_BLOCK)
    assert_same(reference, largest, f"{sample_rate} Hz, {MAX_BLOCK}-frame blocks")
    # One frame per call is slow in any host; half a second covers the music's start.
    single = render_pedalboard(plugin, 0.5, sample_rate, buffer_size=1)
    assert_same(reference, single, f"{sample_rate} Hz, one-frame blocks")
    varied = render_varied(plugin, 3.0, sample_rate, np.random.default_rng(sample_rate))
    assert varied.shape == reference.shape, f"frames lost: {varied.shape} vs {reference.shape}"
    assert_plays(varied, sample_rate, f"pedalboard {sample_rate} Hz, block size changing every call")
    assert_same(reference, varied, f"{sample_rate} Hz, block size changing every call")


@pytest.mark.parametrize("block_frames", [1, 64, MAX_BLOCK])
@pytest.mark.parametrize("sample_rate", SAMPLE_RATES)
def test_dawdreamer_plays_at_every_rate_and_block_size(vst3, sample_rate, block_frames):
    host = DawDreamerHost.load(vst3, sample_rate, block_frames)
    audio = host.render(3.0)
    what = f"DawDreamer {sample_rate} Hz, {block_frames}-frame blocks"
    assert audio.shape == (2, 3 * sample_rate), f"{what}: {audio.shape}"
    assert_sane(audio, what)
    level = rms_dbfs(audio[:, int(SETTLE_S * sample_rate) :])
    assert MIN_RMS_DBFS < level < MAX_RMS_DBFS, f"{what}: RMS {level:.1f} dBFS after {SETTLE_S:.0f} s"


# ---------------------------------------------------------------------------------------------
# Parameter fuzzing

#: Normalised values no sane host sends, mixed with the ends of the range.
WILD = (0.0, 1.0, -1.0, 2.0, 1e30, -1e30, float("nan"), float("inf"), float("-inf"), 1e-45)


def wild_value(rng: np.random.Generator) -> float:
    return float(WILD[rng.integers(len(WILD))]) if rng.random() < 0.6 else float(rng.random())


def test_pedalboard_parameters_fuzzed_every_block_then_reset_play_again(vst3):
    sample_rate, block = 48000, 256
    rng = np.random.default_rng(0xF022)
    defaults = parameter_raw_values(load_pedalboard(vst3))
    plugin = load_pedalboard(vst3)
    params = list(plugin.parameters.values())
    parts = [render_pedalboard(plugin, duration_of(block, sample_rate), sample_rate, buffer_size=block)]
    # One block per call, several parameters changed before each.
    for _ in range(400):
        for index in rng.choice(len(params), size=int(rng.integers(1, 5)), replace=False):
            params[index].raw_value = wild_value(rng)
        parts.append(render_pedalboard(plugin, duration_of(block, sample_rate), sample_rate, buffer_size=block, reset=False))
    fuzzed = np.concatenate(parts, axis=1)
    assert_sane(fuzzed, "pedalboard under parameter fuzzing")
    # Offline, nothing excuses a gap: not a new seed, not a silent gain, not garbage values.
    gap = longest_gap_s(fuzzed, sample_rate, after_s=STARTUP_S)
    assert gap <= MAX_GAP_S, f"{gap * 1e3:.1f} ms of digital silence while fuzzing"

    for param in params:
        param.raw_value = defaults[param.name]
    assert parameter_strings(plugin) == DEFAULT_DISPLAY
    after = render_pedalboard(plugin, 4.0, sample_rate, buffer_size=block, reset=False)
    assert_plays(after, sample_rate, "pedalboard after parameter fuzzing, defaults restored")


def test_dawdreamer_parameters_fuzzed_every_block_then_reset_play_again(vst3):
    sample_rate, block, seconds = 44100, 256, 3.0
    rng = np.random.default_rng(0xF023)
    host = DawDreamerHost.load(vst3, sample_rate, block)
    names = host.names()
    defaults = [host.plugin.get_parameter(i) for i in range(len(names))]
    frames = int(seconds * sample_rate)
    blocks = frames // block + 1
    for index in range(len(names)):
        # A new value every block for every parameter; DawDreamer applies it at the block start.
        values = np.array([wild_value(rng) for _ in range(blocks)], dtype=np.float32)
        host.plugin.set_automation(index, np.repeat(values, block)[:frames])
    fuzzed = host.render(seconds)
    assert_sane(fuzzed, "DawDreamer under parameter fuzzing")

    for index, value in enumerate(defaults):
        host.plugin.set_automation(index, np.full(frames, value, dtype=np.float32))
    after = host.render(seconds)
    assert_sane(after, "DawDreamer after fuzzing")
    shown = {name: host.plugin.get_parameter_text(i) for i, name in enumerate(names)}
    assert shown == DEFAULT_DISPLAY, shown
    level = rms_dbfs(after[:, int(SETTLE_S * sample_rate) :])
    assert MIN_RMS_DBFS < level < MAX_RMS_DBFS, f"DawDreamer after fuzzing: RMS {level:.1f} dBFS"


# ---------------------------------------------------------------------------------------------
# State


def test_pedalboard_state_reloads_to_the_same_bytes_after_random_changes(vst3):
    rng = np.random.default_rng(0x57A7)
    source = load_pedalboard(vst3)
    # A state is also loaded over an instance with a patch of its own (a project opened in a
    # running session): nothing of the old patch may survive.
    reused = load_pedalboard(vst3)
    states = set()
    for round_ in range(6):
        wild = round_ % 2 == 1
        for plugin in (source, reused):
            for param in plugin.parameters.values():
                param.raw_value = wild_value(rng) if wild else float(rng.random())
            # The host passes changes to the plugin's processor with the next block, as a
            # playing DAW does; a save before that may or may not see them.
            render_pedalboard(plugin, 0.01, 48000, buffer_size=512)
        saved = source.raw_state

        fresh = load_pedalboard(vst3)
        fresh.raw_state = saved
        expected = parameter_strings(fresh)
        if not wild:
            # Out-of-range values stay in the host's own cache of what it sent, so only
            # in-range patches can be compared with the source's display.
            assert expected == parameter_strings(source), f"round {round_}"
        assert fresh.raw_state == saved, f"round {round_}: a fresh instance saves other bytes than it loaded"
        grandchild = load_pedalboard(vst3)
        grandchild.raw_state = fresh.raw_state
        assert grandchild.raw_state == saved, f"round {round_}: second generation"
        reused.raw_state = saved
        assert parameter_strings(reused) == expected, f"round {round_}: loaded over another patch"
        assert reused.raw_state == saved, f"round {round_}: loaded over another patch"
        states.add(saved)
    assert len(states) >= 5, "the random changes hardly changed the state"


def test_dawdreamer_state_reloads_to_the_same_bytes_after_fuzzing(vst3, tmp_path):
    rng = np.random.default_rng(0x57A8)
    source = DawDreamerHost.load(vst3, 48000, 512)
    for index in range(len(source.names())):
        source.plugin.set_parameter(index, wild_value(rng))
    source.render(0.1)  # DawDreamer hands parameter values to the plugin while rendering
    saved_path = tmp_path / "source.state"
    source.plugin.save_state(str(saved_path))
    saved = saved_path.read_bytes()

    restored = DawDreamerHost.load(vst3, 48000, 512)
    try:
        restored.plugin.load_state(str(saved_path))
    except RuntimeError as err:
        # DawDreamer opens the editor after a load, and fails after the state was applied.
        if "no available editor" not in str(err):
            raise
    resaved_path = tmp_path / "restored.state"
    restored.plugin.save_state(str(resaved_path))
    assert resaved_path.read_bytes() == saved, "DawDreamer: a fresh instance saves other bytes than it loaded"
    # The same bytes are the same patch in the other host too, and save back unchanged.
    plugin = load_pedalboard(vst3)
    plugin.raw_state = saved
    shown = {name: restored.plugin.get_parameter_text(i) for i, name in enumerate(restored.names())}
    assert parameter_strings(plugin) == shown
    assert plugin.raw_state == saved, "pedalboard saves other bytes than DawDreamer's state it loaded"


# ---------------------------------------------------------------------------------------------
# Several instances


def test_four_pedalboard_instances_play_independently(vst3):
    """Instances 0 and 3 have the default patch, 3 with block sizes changing every call; both
    must render exactly what one instance renders alone, whatever the others do in between.
    1 and 2 must play their own patches."""
    sample_rate, seconds, slices = 48000, 3.0, 12
    solo = render_pedalboard(load_pedalboard(vst3), seconds, sample_rate, buffer_size=512)
    patches = [{}, {"key": "F#", "scale": "Minor", "intensity": 55}, {"scale": "Lydian", "intensity": 90}, {}]
    instances = []
    for patch in patches:
        plugin = load_pedalboard(vst3)
        for name, value in patch.items():
            setattr(plugin, name, value)
        instances.append(plugin)
    rng = np.random.default_rng(4)
    parts = [[] for _ in instances]
    slice_frames = int(seconds * sample_rate) // slices
    for slice_ in range(slices):
        for i, plugin in enumerate(instances):
            if i == 3:
                if slice_ == 0:
                    parts[i].append(render_varied(plugin, duration_of(slice_frames, sample_rate), sample_rate, rng))
                else:
                    block = int(rng.integers(1, MAX_BLOCK + 1))
                    parts[i].append(
                        render_pedalboard(plugin, duration_of(slice_frames, sample_rate), sample_rate, buffer_size=block, reset=False)
                    )
            else:
                parts[i].append(
                    render_pedalboard(plugin, duration_of(slice_frames, sample_rate), sample_rate, buffer_size=512, reset=slice_ == 0)
                )
    rendered = [np.concatenate(p, axis=1)[:, : solo.shape[1]] for p in parts]
    for i, audio in enumerate(rendered):
        assert_plays(audio, sample_rate, f"instance {i} of 4")
    for i in (0, 3):
        assert_same(solo, rendered[i], f"instance {i} of 4, next to three others")
    profile = chroma(rendered[1][:, 2 * sample_rate :], sample_rate)
    share = in_scale_share(profile, "F#", "Minor")
    assert share > MIN_IN_SCALE, f"instance 1 is not in its own key, F# Minor: {format_chroma(profile)}"
    shown = [parameter_strings(plugin) for plugin in instances]
    assert [s["Key"] for s in shown] == ["D", "F#", "D", "D"], shown
    assert [s["Intensity"] for s in shown] == ["45", "55", "90", "45"], shown


def test_four_dawdreamer_engines_alive_at_once_each_play_their_patch(vst3):
    keys = ("C", "E", "F#", "A")
    hosts = [DawDreamerHost.load(vst3, 44100, 512) for _ in keys]
    for host, key in zip(hosts, keys):
        host.set_choice("Key", key, KEY_NAMES)
        host.set_normalized("Intensity", 0.55)
    # Interleaved: each engine renders in turn, twice, while the others stay loaded and active.
    for _ in range(2):
        renders = [host.render(4.0) for host in hosts]
    for key, audio in zip(keys, renders):
        assert_sane(audio, f"DawDreamer instance in {key}")
        level = rms_dbfs(audio[:, 2 * 44100 :])
        assert MIN_RMS_DBFS < level < MAX_RMS_DBFS, f"instance in {key}: RMS {level:.1f} dBFS"
        profile = chroma(audio[:, 2 * 44100 :], 44100)
        share = in_scale_share(profile, key, "Dorian")
        assert share > MIN_IN_SCALE, f"instance in {key} is not in {key} Dorian: {format_chroma(profile)}"
