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


#: Am – F – Dm7 – E7 as a player voices them (MIDI notes), one bar each.
PROGRESSION = [("Am", [45, 57, 60, 64]), ("F", [41, 57, 60, 65]), ("Dm7", [38, 57, 60, 65]),
               ("E7", [40, 56, 59, 62])]
PLAYED_BARS = 8
FOLLOW_BPM = 120
TICKS = 480


def song(path: Path) -> None:
    """A type 1 song file: a conductor track at 120 BPM and a chord track, from bar 1."""
    song = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(FOLLOW_BPM))])
    chords = mido.MidiTrack([mido.MetaMessage("track_name", name="chords")])
    bar = 4 * TICKS
    now = 0
    for index in range(PLAYED_BARS):
        start = (index + 1) * bar
        keys = PROGRESSION[index % 4][1]
        for n, key in enumerate(keys):
            chords.append(mido.Message("note_on", channel=5, note=key, velocity=90,
                                       time=start - now if n == 0 else 0))
            now = start
        for n, key in enumerate(keys):
            # Lifted a 32nd before the next chord, as a player does.
            chords.append(mido.Message("note_off", channel=5, note=key,
                                       time=bar - TICKS // 8 if n == 0 else 0))
        now = start + bar - TICKS // 8
    song.tracks += [conductor, chords]
    song.save(path)


def test_a_render_with_midi_in_follows_the_songs_chords(tmp_path):
    song_path, out = tmp_path / "song.mid", tmp_path / "followed.mid"
    song(song_path)
    result = subprocess.run(
        [str(standalone()), "render", "--seconds", str(4 * (PLAYED_BARS + 1) * 60 / FOLLOW_BPM),
         "--renderer", "cpu", "--key", "c", "--scale", "major", "--bpm", str(FOLLOW_BPM),
         "--midi-in", str(song_path), "--midi", str(out)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    midi = mido.MidiFile(out)
    seconds_per_beat = 60 / FOLLOW_BPM
    # Absolute times (s) of the pad and drone notes, as (start, end, pitch class).
    sounding = []
    for track in midi.tracks[1:]:
        if track.name not in ("pad", "drone"):
            continue
        now, started = 0.0, {}
        for message in track:
            now += mido.tick2second(message.time, midi.ticks_per_beat, mido.bpm2tempo(FOLLOW_BPM))
            if message.type == "note_on" and message.velocity > 0:
                started[message.note] = now
            elif message.type in ("note_on", "note_off") and message.note in started:
                sounding.append((started.pop(message.note), now, message.note % 12))
    for index in range(PLAYED_BARS):
        name, keys = PROGRESSION[index % 4]
        chord = {key % 12 for key in keys}
        bar_start = (index + 1) * 4 * seconds_per_beat
        # From one beat into the bar to its end.
        window = (bar_start + seconds_per_beat, bar_start + 4 * seconds_per_beat)
        heard = {pc for start, end, pc in sounding if start < window[1] and end > window[0]}
        assert heard, f"bar {index + 1}: no pad or drone notes"
        assert len(heard - chord) <= 1, f"bar {index + 1}: {sorted(heard)} over {name} {sorted(chord)}"


def test_midi_in_that_is_not_midi_is_refused_clearly(tmp_path):
    bad = tmp_path / "song.mid"
    bad.write_bytes(b"not a midi file")
    result = subprocess.run(
        [str(standalone()), "render", "--seconds", "1", "--midi-in", str(bad), "--out",
         str(tmp_path / "x.wav")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "song.mid" in result.stderr and "MIDI" in result.stderr, result.stderr
    assert not (tmp_path / "x.wav").exists(), "no half-written output is left"
