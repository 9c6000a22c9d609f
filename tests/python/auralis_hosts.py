"""Auralis in the two Python VST3 hosts, and the host behaviour the tests depend on.

Both hosts wrap JUCE's VST3 hosting, so a state blob saved by one loads in the other. They
differ in how they drive the plugin:

* **pedalboard** prepares the plugin with ``setNonRealtime(true)`` (``kOffline``), so the plugin
  should activate in ``ProcessMode::Offline`` and wait for its engine: a render is complete by
  construction. Its ``load_plugin`` "warms up" instruments by playing a note until the output
  gets 5x louder than without it; Auralis sounds without notes, so the warm-up never succeeds
  and always lasts the whole ``initialization_timeout`` (10 s by default, spent again on the
  first render after loading). The tests shorten it to :data:`PEDALBOARD_WARMUP_S`.
* **DawDreamer** prepares the plugin twice when loading it, for realtime and then offline
  processing, and prepares it offline again for each ``render``, which calls ``process`` back to
  back: the plugin waits for its engine, as in pedalboard. (With nice-plug 0.4.2's VST3 wrapper
  each activation got the previous call's mode; see ``vendor/PATCHES.md``.) Parameters set with
  ``set_parameter``/``set_automation`` reach the plugin only during ``render``.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auralis_audio import check_shape, describe_gaps, longest_gap_s, peak, rms_dbfs

#: The environment variable `cargo xtask test` sets to the bundle under test.
VST3_ENV = "AURALIS_VST3"

#: Display names of the parameters: part of the contract (hosts and scripts address them).
PARAMETER_NAMES = (
    "Key",
    "Scale",
    "Tempo",
    "Sync to Host",
    "Intensity",
    "Brightness",
    "Space",
    "Seed",
    "Gain",
    "MIDI Out",
    "Follow",
)
KEY_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
SCALE_NAMES = (
    "Major",
    "Minor",
    "Dorian",
    "Phrygian",
    "Lydian",
    "Mixolydian",
    "Major Pentatonic",
    "Minor Pentatonic",
)
#: What a fresh instance displays for each parameter.
DEFAULT_DISPLAY = {
    "Key": "D",
    "Scale": "Dorian",
    "Tempo": "70.0",
    "Sync to Host": "On",
    "Intensity": "45",
    "Brightness": "50",
    "Space": "60",
    "Seed": "7",
    "Gain": "0.0",
    "MIDI Out": "Melody + Chords",
    "Follow": "Off",
}

#: pedalboard's instrument warm-up budget per load (and per reload), in seconds; the default of
#: 10 s would only make every load 10 s slower (see the module docs). It must stay positive:
#: the warm-up prepares the plugin a first time, and nice-plug 0.4.2's VST3 wrapper hands the
#: plugin the process mode of the *previous* ``setupProcessing`` call, so without it a fresh
#: instance activates as Realtime (``test_offline_render_is_complete_when_prepared_once``).
PEDALBOARD_WARMUP_S = 0.1

#: Startup allowance before gap detection: the first block of a realtime host may legitimately
#: be silence while the engine thread starts, and every activation fades in over 4 ms.
STARTUP_S = 0.1
#: Longest run of exact digital silence tolerated after startup. A sustained chord never sits at
#: exactly 0.0 on both channels for more than a sample, so anything this long is an underrun.
MAX_GAP_S = 0.020
#: Level window for the settled output (after :data:`SETTLE_S`): below -50 dBFS RMS the plugin is
#: effectively silent; above -6 dBFS RMS an ambient pad would be clipping or noise.
MIN_RMS_DBFS = -50.0
MAX_RMS_DBFS = -6.0
SETTLE_S = 2.0
#: Share of chroma power that must lie on the notes of the selected scale. Noise puts about
#: 60 % on a seven-note scale; the placeholder chord puts 99 % there.
MIN_IN_SCALE = 0.9


def assert_plays(audio: np.ndarray, sample_rate: float, what: str) -> None:
    """What every render must be: stereo, finite, within full scale, audible but not garbage
    once settled, and without gaps after startup."""
    check_shape(audio)
    assert np.all(np.isfinite(audio)), f"{what}: non-finite samples"
    assert peak(audio) <= 1.0, f"{what}: peak {peak(audio):.3f} beyond full scale"
    level = rms_dbfs(audio[:, int(SETTLE_S * sample_rate) :])
    assert level > MIN_RMS_DBFS, f"{what}: silent after the first {SETTLE_S:.0f} s (RMS {level:.1f} dBFS)"
    assert level < MAX_RMS_DBFS, f"{what}: too loud to be music (RMS {level:.1f} dBFS)"
    gap = longest_gap_s(audio, sample_rate, after_s=STARTUP_S)
    assert gap <= MAX_GAP_S, (
        f"{what}: {gap * 1e3:.1f} ms of digital silence after startup; "
        f"{describe_gaps(audio, sample_rate, STARTUP_S, MAX_GAP_S)}"
    )


def bundle_from_env() -> Path:
    """The bundle under test, from ``AURALIS_VST3``.

    Raises ``RuntimeError``, saying what to run, when the variable is unset or does not point
    at a built VST3 bundle.
    """
    value = os.environ.get(VST3_ENV)
    if not value:
        raise RuntimeError(
            f"{VST3_ENV} is not set. These tests load the built plugin bundle into real VST3 hosts; "
            "run them with `cargo xtask test` (which builds target/bundled/Auralis.vst3 and sets "
            f"{VST3_ENV}), or set {VST3_ENV}=/path/to/Auralis.vst3 yourself."
        )
    bundle = Path(value)
    binary = bundle / "Contents" / "x86_64-linux" / "Auralis.so"
    if not binary.is_file():
        raise RuntimeError(
            f"{VST3_ENV}={value} is not a built Auralis VST3 bundle (no {binary}). "
            "Build it with `cargo xtask bundle auralis-plugin --release`, or run `cargo xtask test`."
        )
    return bundle


# ---------------------------------------------------------------------------------------------
# pedalboard


def load_pedalboard(bundle: Path, warmup_s: float = PEDALBOARD_WARMUP_S):
    """Loads the bundle with pedalboard and checks it is the Auralis instrument."""
    import pedalboard

    plugin = pedalboard.load_plugin(str(bundle), initialization_timeout=warmup_s)
    assert plugin.name == "Auralis", f"loaded {plugin.name!r}"
    assert plugin.is_instrument, "Auralis must load as an instrument"
    return plugin


def render_pedalboard(plugin, seconds: float, sample_rate: float, buffer_size: int = 8192, reset: bool = True) -> np.ndarray:
    """Renders ``seconds`` of stereo audio with no MIDI input; returns ``(2, frames)``."""
    return plugin([], duration=seconds, sample_rate=sample_rate, num_channels=2, buffer_size=buffer_size, reset=reset)


def parameter_strings(plugin) -> dict[str, str]:
    """Display name -> displayed value, for every parameter of a pedalboard plugin."""
    return {param.name: param.string_value for param in plugin.parameters.values()}


def parameter_raw_values(plugin) -> dict[str, float]:
    """Display name -> normalised value (0..1), for every parameter of a pedalboard plugin."""
    return {param.name: float(param.raw_value) for param in plugin.parameters.values()}


# ---------------------------------------------------------------------------------------------
# DawDreamer


@dataclass
class DawDreamerHost:
    """One Auralis instance in its own DawDreamer engine."""

    engine: object
    plugin: object
    sample_rate: int
    block_frames: int

    @classmethod
    def load(cls, bundle: Path, sample_rate: int = 44100, block_frames: int = 512) -> "DawDreamerHost":
        import dawdreamer

        engine = dawdreamer.RenderEngine(sample_rate, block_frames)
        plugin = engine.make_plugin_processor("auralis", str(bundle))
        assert plugin.get_num_output_channels() == 2, "Auralis must offer a stereo output"
        engine.load_graph([(plugin, [])])
        return cls(engine, plugin, sample_rate, block_frames)

    def names(self) -> list[str]:
        """Parameter display names in index order."""
        return [self.plugin.get_parameter_name(i) for i in range(self.plugin.get_plugin_parameter_size())]

    def index(self, name: str) -> int:
        """Index of the parameter displayed as ``name``."""
        names = self.names()
        assert name in names, f"no parameter named {name!r}; the plugin has {names}"
        return names.index(name)

    def set_normalized(self, name: str, value: float) -> None:
        """Sets a parameter by name to a normalised value (applied from the next render on)."""
        assert self.plugin.set_parameter(self.index(name), float(value)), f"set_parameter({name!r}) failed"

    def set_choice(self, name: str, choice: str, choices: tuple[str, ...]) -> None:
        """Sets a stepped parameter (Key, Scale) to one of its named values."""
        self.set_normalized(name, choices.index(choice) / (len(choices) - 1))

    def automate(self, name: str, normalized_per_frame: np.ndarray) -> None:
        """Audio-rate automation of a parameter, in normalised units, one value per frame."""
        data = np.ascontiguousarray(normalized_per_frame, dtype=np.float32)
        assert self.plugin.set_automation(self.index(name), data), f"set_automation({name!r}) failed"

    def render(self, seconds: float) -> np.ndarray:
        """Renders from time zero; returns ``(2, frames)``."""
        assert self.engine.render(seconds), "DawDreamer render failed"
        audio = self.engine.get_audio()
        assert audio.shape[1] == int(round(seconds * self.sample_rate)), f"rendered {audio.shape}"
        return audio


# ---------------------------------------------------------------------------------------------
# JUCE's VST3 state blob, as pedalboard's raw_state and DawDreamer's save_state produce it:
# b"VC2!" + little-endian u32 length + XML + NUL, where the XML carries the plugin's component
# state in JUCE's own base64 ("<size>.<chars>", least significant bits first).

_JUCE_BASE64 = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"


def _juce_base64_encode(data: bytes) -> str:
    # Bits are taken least significant first, so every 3 bytes (a little-endian 24-bit group)
    # become exactly 4 characters; the last group is zero-padded and cut to length.
    chars = []
    for start in range(0, len(data), 3):
        group = int.from_bytes(data[start : start + 3], "little")
        chars.extend(_JUCE_BASE64[(group >> shift) & 63] for shift in (0, 6, 12, 18))
    return f"{len(data)}." + "".join(chars[: (len(data) * 8 + 5) // 6])


def _juce_base64_decode(text: str) -> bytes:
    size, _, chars = text.partition(".")
    out = bytearray()
    for start in range(0, len(chars), 4):
        group = 0
        for shift, char in zip((0, 6, 12, 18), chars[start : start + 4]):
            group |= _JUCE_BASE64.index(char) << shift
        out += group.to_bytes(3, "little")
    return bytes(out[: int(size)])


def wrap_component_state(component: bytes) -> bytes:
    """A well-formed JUCE VST3 state blob around arbitrary plugin component bytes.

    Loading it makes JUCE hand ``component`` to the plugin's own ``IComponent::setState``, so
    malformed bytes reach the plugin's parser rather than being rejected by the host.
    """
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?> <VST3PluginState><IComponent>'
        + _juce_base64_encode(component)
        + "</IComponent><IEditController>0.</IEditController></VST3PluginState>"
    ).encode()
    return b"VC2!" + struct.pack("<I", len(xml)) + xml + b"\0"


def unwrap_component_state(blob: bytes) -> bytes:
    """The plugin's own component state inside a JUCE VST3 state blob."""
    assert blob[:4] == b"VC2!", f"not a JUCE VST3 state: {blob[:16]!r}"
    (length,) = struct.unpack("<I", blob[4:8])
    xml = blob[8 : 8 + length].decode()
    start = xml.index("<IComponent>") + len("<IComponent>")
    return _juce_base64_decode(xml[start : xml.index("</IComponent>", start)])


# ---------------------------------------------------------------------------------------------
# Child processes: anything that may crash the host runs in one, so a crash is a test failure
# with a message instead of the end of the test session.


@dataclass
class ChildResult:
    """What a child host process did."""

    returncode: int | None
    report: dict | None
    stdout: str
    stderr: str

    def describe(self) -> str:
        if self.returncode is None:
            how = "timeout"
        elif self.returncode < 0:
            how = f"killed by {signal.Signals(-self.returncode).name}"
        else:
            how = f"exit code {self.returncode}"
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        return f"host process {how}; stderr tail:\n{tail}"


def run_child(script: str, args: list[str], timeout_s: float = 60.0) -> ChildResult:
    """Runs ``script`` (a file next to this one) with this interpreter.

    The child prints one JSON object as its last line of stdout; it is returned as ``report``
    (``None`` if the child died before printing it).
    """
    path = Path(__file__).with_name(script)
    try:
        proc = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        stderr = err.stderr.decode(errors="replace") if isinstance(err.stderr, bytes) else (err.stderr or "")
        return ChildResult(None, None, "", f"host process still running after {timeout_s:.0f} s (hung)\n{stderr}")
    report = None
    lines = proc.stdout.strip().splitlines()
    if lines:
        try:
            report = json.loads(lines[-1])
        except json.JSONDecodeError:
            report = None
    return ChildResult(proc.returncode, report, proc.stdout, proc.stderr)
