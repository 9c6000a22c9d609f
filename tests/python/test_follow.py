"""Follow = Chords through pedalboard (VST3): chords sent in as MIDI become what Auralis plays.

C major is on the dial; Am – F – Dm7 – E7 is played in, four bars each. Pads rise over seconds
and ring on in the reverb, so the audio is measured over the last two bars of each chord: there
the strongest pitch class belongs to the chord played in, and the chord's tones carry most of
the pitched power. (That the composer takes each chord on its next beat is tested on the notes
it plays, in the CLAP host test and the `render --midi-in` test.) The control: with Follow off, the same input is ignored, so
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
BARS_PER_CHORD = 4
CHORD_S = BARS_PER_CHORD * BAR_S
G_SHARP = 8


def midi_in() -> list[tuple[bytes, float]]:
    """The progression as raw MIDI messages with their times in seconds, from bar 1."""
    messages = []
    for index, (_, keys) in enumerate(PROGRESSION):
        start = BAR_S + index * CHORD_S
        for key in keys:
            messages.append((bytes([0x90, key, 90]), start))
            # Lifted 5 ms before the next chord, as a player does.
            messages.append((bytes([0x80, key, 0]), start + CHORD_S - 0.005))
    return sorted(messages, key=lambda message: message[1])


def render(vst3, follow: str) -> np.ndarray:
    plugin = load_pedalboard(vst3)
    plugin.key = "C"
    plugin.scale = "Major"
    plugin.tempo = 120.0
    plugin.sync_to_host = False
    plugin.intensity = 0.45
    plugin.follow = follow
    seconds = BAR_S + len(PROGRESSION) * CHORD_S + 1.0
    return plugin(midi_in(), duration=seconds, sample_rate=SAMPLE_RATE, num_channels=2,
                  buffer_size=1024, reset=True)


def chord_chroma(audio: np.ndarray, index: int) -> np.ndarray:
    """Pitch-class power of the last two bars of chord ``index``."""
    end = BAR_S + (index + 1) * CHORD_S
    start = end - 2 * BAR_S
    return chroma(audio[:, int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)], SAMPLE_RATE)


def test_the_audio_follows_the_chords_sent_in_as_midi(vst3):
    followed, ignored = render(vst3, "Chords"), render(vst3, "Off")
    shares = []
    for index, (name, keys) in enumerate(PROGRESSION):
        chord = sorted({key % 12 for key in keys})
        profile = chord_chroma(followed, index)
        share = float(profile[chord].sum() / profile.sum())
        shares.append(share)
        print(f"{name}: {share:.0%} in the chord; {format_chroma(profile)}")
        assert int(np.argmax(profile)) in chord, f"{name}: {format_chroma(profile)}"
    assert np.mean(shares) > 0.6, f"the chords played in carry only {np.mean(shares):.0%}"
    e7 = len(PROGRESSION) - 1
    with_follow, without = chord_chroma(followed, e7), chord_chroma(ignored, e7)
    g_sharp_followed = with_follow[G_SHARP] / with_follow.sum()
    g_sharp_ignored = without[G_SHARP] / without.sum()
    print(f"E7: G# {g_sharp_followed:.1%} following, {g_sharp_ignored:.1%} off")
    assert g_sharp_followed > 3 * g_sharp_ignored + 0.03, "E7's G# is not heard"
