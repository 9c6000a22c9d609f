"""``auralis render --midi``: the notes of a render as a Standard MIDI File, read by mido.

The file is what a DAW would import: type 1, a conductor track with the render's tempo and 4/4,
one named track per layer on the channels of the plugin's MIDI out, balanced note-ons and
note-offs, the melody and pad in the key and scale asked for, and the notes spread over the
whole render. Writing the MIDI file beside the WAV does not change a sample of the WAV.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mido
import pytest

#: Track names and the MIDI channel (0-based) of each, as the plugin's MIDI out sends them.
LAYERS = {"melody": 0, "pad": 1, "drone": 2, "texture": 3, "bell": 4, "percussion": 9}
#: Pitch classes of F# Lydian.
F_SHARP_LYDIAN = {6, 8, 10, 0, 1, 3, 5}
SECONDS = 90
BPM = 64


def standalone() -> Path:
    path = os.environ.get("AURALIS_STANDALONE")
    if not path:
        raise pytest.UsageError("set AURALIS_STANDALONE to the auralis binary (cargo xtask test does)")
    return Path(path)


def render(*flags: str) -> None:
    result = subprocess.run(
        [str(standalone()), "render", "--seconds", str(SECONDS), "--renderer", "cpu", "--key", "f#",
         "--scale", "lydian", "--bpm", str(BPM), "--intensity", "0.6", *flags],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("midi")
    paths = {
        "both_wav": directory / "both.wav",
        "both_mid": directory / "both.mid",
        "wav": directory / "alone.wav",
        "mid": directory / "alone.mid",
    }
    render("--out", str(paths["both_wav"]), "--midi", str(paths["both_mid"]))
    render("--out", str(paths["wav"]))
    render("--midi", str(paths["mid"]))
    return paths


def notes_by_track(midi: mido.MidiFile) -> dict[str, list[mido.Message]]:
    return {track.name: [m for m in track if m.type in ("note_on", "note_off")] for track in midi.tracks[1:]}


def test_the_file_is_type_1_with_the_tempo_time_signature_and_a_track_per_layer(files):
    midi = mido.MidiFile(files["both_mid"])
    assert midi.type == 1
    assert [track.name for track in midi.tracks[1:]] == list(LAYERS)
    conductor = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert round(mido.tempo2bpm(conductor["set_tempo"].tempo), 3) == BPM
    signature = conductor["time_signature"]
    assert (signature.numerator, signature.denominator) == (4, 4)
    assert abs(midi.length - SECONDS) < 1.0, midi.length


def test_each_layer_plays_on_its_channel_with_every_note_ended(files):
    midi = mido.MidiFile(files["both_mid"])
    counts = {}
    for name, messages in notes_by_track(midi).items():
        assert {m.channel for m in messages} <= {LAYERS[name]}, name
        sounding: dict[int, int] = {}
        for message in messages:
            on = message.type == "note_on" and message.velocity > 0
            sounding[message.note] = sounding.get(message.note, 0) + (1 if on else -1)
            assert sounding[message.note] >= 0, f"{name}: a note-off without its note-on"
            if on:
                assert 1 <= message.velocity <= 127
        assert all(count == 0 for count in sounding.values()), f"{name}: notes left hanging"
        counts[name] = sum(1 for m in messages if m.type == "note_on" and m.velocity > 0)
    for layer in ("melody", "pad", "drone", "percussion"):
        assert counts[layer] > 0, f"no {layer} notes in {SECONDS} s: {counts}"


def test_melody_and_pad_are_in_the_key_and_scale_throughout(files):
    midi = mido.MidiFile(files["both_mid"])
    tracks = notes_by_track(midi)
    for layer in ("melody", "pad"):
        pitches = [m.note for m in tracks[layer] if m.type == "note_on" and m.velocity > 0]
        outside = [p for p in pitches if p % 12 not in F_SHARP_LYDIAN]
        assert not outside, f"{layer}: {outside} outside F# Lydian"
    # Notes start in every third of the render: the file covers the whole piece.
    starts = []
    for track in midi.tracks[1:]:
        elapsed = 0.0
        for message in track:
            elapsed += message.time
            if message.type == "note_on" and message.velocity > 0:
                starts.append(mido.tick2second(elapsed, midi.ticks_per_beat, mido.bpm2tempo(BPM)))
    for third in range(3):
        assert any(third * SECONDS / 3 <= s < (third + 1) * SECONDS / 3 for s in starts), third


def test_writing_midi_beside_the_wav_changes_no_sample_and_the_notes_are_the_same_alone(files):
    assert files["both_wav"].read_bytes() == files["wav"].read_bytes()
    assert files["both_mid"].read_bytes() == files["mid"].read_bytes()


def test_a_render_needs_somewhere_to_go():
    result = subprocess.run(
        [str(standalone()), "render", "--seconds", "1"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "--midi" in result.stderr and "--out" in result.stderr, result.stderr
