"""Follow = Chords through pedalboard (VST3): chords sent in as MIDI become what Auralis plays.

C major is on the dial; Am – F – Dm7 – E7 is played in, a bar each, twice. Heard in the audio,
each bar's strongest pitch class belongs to the chord played in, and the chord's tones carry
most of the bar's pitched power. The control: with Follow off, the same input is ignored, so
E7's G#, which C major does not have, stays almost silent in the E7 bars.
"""

from __future__ import annotations

import numpy as np

from auralis_audio import chroma, format_chroma
from auralis_hosts import load_pedalboard

SAMPLE_RATE = 48000
BPM = 120
BEAT_S = 60 / BPM
BAR_S = 4 * BEAT_S
PROGRESSION = [("Am", [45, 57, 60, 64]), ("F", [41, 57, 60, 65]), ("Dm7", [38, 57, 60, 65]),
               ("E7", [40, 56, 59, 62])]
PLAYED_BARS = 8
G_SHARP = 8


def midi_in() -> list[tuple[bytes, float]]:
    """The progression as raw MIDI messages with their times in seconds, from bar 1."""
    messages = []
    for index in range(PLAYED_BARS):
        start = (index + 1) * BAR_S
        for key in PROGRESSION[index % 4][1]:
            messages.append((bytes([0x90, key, 90]), start))
            # Lifted 5 ms before the next chord, as a player does.
            messages.append((bytes([0x80, key, 0]), start + BAR_S - 0.005))
    return sorted(messages, key=lambda message: message[1])


def render(vst3, follow: str) -> np.ndarray:
    plugin = load_pedalboard(vst3)
    plugin.key = "C"
    plugin.scale = "Major"
    plugin.tempo = 120.0
    plugin.sync_to_host = False
    plugin.intensity = 0.45
    plugin.follow = follow
    seconds = (PLAYED_BARS + 1) * BAR_S + 1.0
    return plugin(midi_in(), duration=seconds, sample_rate=SAMPLE_RATE, num_channels=2,
                  buffer_size=1024, reset=True)


def bar_chroma(audio: np.ndarray, index: int) -> np.ndarray:
    """Pitch-class power of bar ``index + 1`` of the input, from a beat into it to its end."""
    start = int(((index + 1) * BAR_S + BEAT_S) * SAMPLE_RATE)
    end = int((index + 2) * BAR_S * SAMPLE_RATE)
    return chroma(audio[:, start:end], SAMPLE_RATE)


def test_the_audio_follows_the_chords_sent_in_as_midi(vst3):
    followed, ignored = render(vst3, "Chords"), render(vst3, "Off")
    shares = []
    for index in range(PLAYED_BARS):
        name, keys = PROGRESSION[index % 4]
        chord = sorted({key % 12 for key in keys})
        profile = bar_chroma(followed, index)
        share = float(profile[chord].sum() / profile.sum())
        shares.append(share)
        print(f"bar {index + 1} {name}: {share:.0%} in the chord; {format_chroma(profile)}")
        assert int(np.argmax(profile)) in chord, f"bar {index + 1} ({name}): {format_chroma(profile)}"
    assert np.mean(shares) > 0.6, f"the chords played in carry only {np.mean(shares):.0%}"
    for index in (3, 7):
        with_follow = bar_chroma(followed, index)
        without = bar_chroma(ignored, index)
        g_sharp_followed = with_follow[G_SHARP] / with_follow.sum()
        g_sharp_ignored = without[G_SHARP] / without.sum()
        print(f"E7 bar {index + 1}: G# {g_sharp_followed:.1%} following, {g_sharp_ignored:.1%} off")
        assert g_sharp_followed > 3 * g_sharp_ignored + 0.03, "E7's G# is not heard"
