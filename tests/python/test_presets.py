"""The factory presets as VST3 hosts see them: ``.vstpreset`` files in the bundle.

``cargo xtask bundle`` writes one file per factory mood into
``Auralis.vst3/Contents/Resources/Presets/``. Each is read here as the VST 3 SDK defines the
format (header, chunk list, the ``Comp`` chunk the component's ``setState`` receives, the
``Info`` metadata), and loaded into both hosts: the parameters must then hold the values the
file carries, the session's own gain must stay, and the patch must play.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from auralis_audio import rms_dbfs
from auralis_hosts import (
    KEY_NAMES,
    MIN_RMS_DBFS,
    SCALE_NAMES,
    DawDreamerHost,
    load_pedalboard,
    parameter_raw_values,
    parameter_strings,
    render_pedalboard,
)

SAMPLE_RATE = 48000
#: The stable ids of the scales, in the order of SCALE_NAMES (params.rs).
SCALE_IDS = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "majpent", "minpent")
#: What a preset sets: the mood. Gain, MIDI out, host sync and Follow belong to the session.
MOOD_IDS = {"key", "scale", "tempo", "intens", "bright", "space", "seed"}
#: The plugin's VST3 class id (lib.rs), as the header spells it.
CLASS_ID = b"AuralisAmbient01".hex().upper().encode()
#: The factory moods (presets.rs); the README lists the same names.
FACTORY = ("Auralis", "Dawn", "Deep Field", "Glass Garden", "Night Drive", "Tidal")
TEMPO_RANGE = (30.0, 180.0)
SEED_MAX = 65535


def preset_dir(vst3: Path) -> Path:
    return vst3 / "Contents" / "Resources" / "Presets"


def read_vstpreset(path: Path) -> tuple[bytes, dict, str]:
    """The class id, the component state (JSON) and the Info XML of a .vstpreset."""
    data = path.read_bytes()
    assert data[:4] == b"VST3", f"{path.name}: not a .vstpreset"
    (version,) = struct.unpack_from("<i", data, 4)
    assert version == 1
    class_id = data[8:40]
    (list_offset,) = struct.unpack_from("<q", data, 40)
    assert data[list_offset : list_offset + 4] == b"List"
    (count,) = struct.unpack_from("<i", data, list_offset + 4)
    chunks = {}
    for i in range(count):
        at = list_offset + 8 + i * 20
        chunk_id = data[at : at + 4]
        offset, size = struct.unpack_from("<qq", data, at + 4)
        assert offset + size <= list_offset, f"{path.name}: chunk {chunk_id} overlaps the list"
        chunks[chunk_id] = data[offset : offset + size]
    return class_id, json.loads(chunks[b"Comp"]), chunks[b"Info"].decode("utf-8")


def expected_normalised(params: dict) -> dict[str, float]:
    """Display name -> the normalised value the host must show for the preset's values."""
    return {
        "Key": KEY_NAMES.index(params["key"].upper()) / (len(KEY_NAMES) - 1),
        "Scale": SCALE_IDS.index(params["scale"]) / (len(SCALE_IDS) - 1),
        "Tempo": (params["tempo"]["f32"] - TEMPO_RANGE[0]) / (TEMPO_RANGE[1] - TEMPO_RANGE[0]),
        "Intensity": params["intens"]["f32"],
        "Brightness": params["bright"]["f32"],
        "Space": params["space"]["f32"],
        "Seed": params["seed"]["i32"] / SEED_MAX,
    }


def plain(params: dict) -> dict:
    """The preset's enum values unwrapped from nice-plug's tagged JSON ({"string": "d"})."""
    return {k: (v["string"] if "string" in v else v) for k, v in params.items()}


def presets(vst3: Path) -> list[tuple[Path, dict]]:
    found = sorted(preset_dir(vst3).glob("*.vstpreset"))
    return [(path, plain(read_vstpreset(path)[1]["params"])) for path in found]


def test_the_bundle_carries_every_factory_preset_in_the_vst3_layout(vst3):
    files = sorted(p.stem for p in preset_dir(vst3).glob("*.vstpreset"))
    assert files == sorted(FACTORY), f"presets in the bundle: {files}"
    moods = set()
    for path in preset_dir(vst3).glob("*.vstpreset"):
        class_id, state, info = read_vstpreset(path)
        assert class_id == CLASS_ID, f"{path.name}: class id {class_id!r}"
        assert set(state["params"]) == MOOD_IDS, f"{path.name}: {sorted(state['params'])}"
        assert re.search(rf'id="MusicalName" value="{re.escape(path.stem)}"', info), info
        moods.add(json.dumps(state["params"], sort_keys=True))
    assert len(moods) == len(FACTORY), "two presets carry the same mood"


def detuned_pedalboard(vst3):
    plugin = load_pedalboard(vst3)
    plugin.key = "C#"
    plugin.scale = "Minor Pentatonic"
    plugin.tempo_bpm = 177.0
    plugin.intensity = 99
    plugin.gain_db = -7.5
    render_pedalboard(plugin, 0.01, SAMPLE_RATE, buffer_size=512)
    return plugin


def test_pedalboard_loads_each_vstpreset(vst3):
    for path, params in presets(vst3):
        plugin = detuned_pedalboard(vst3)
        gain_before = parameter_strings(plugin)["Gain"]
        plugin.load_preset(str(path))
        shown = parameter_raw_values(plugin)
        for name, value in expected_normalised(params).items():
            assert shown[name] == pytest.approx(value, abs=1e-5), f"{path.stem}: {name} {shown[name]} != {value}"
        strings = parameter_strings(plugin)
        assert strings["Key"] == params["key"].upper()
        assert strings["Gain"] == gain_before, f"{path.stem}: loading a preset changed the gain"
        audio = render_pedalboard(plugin, 2.0, SAMPLE_RATE)
        assert np.all(np.isfinite(audio)) and rms_dbfs(audio) > MIN_RMS_DBFS, f"{path.stem} is silent"


def test_dawdreamer_loads_each_vstpreset(vst3):
    for path, params in presets(vst3):
        host = DawDreamerHost.load(vst3, 44100, 512)
        assert host.plugin.load_vst3_preset(str(path)), f"DawDreamer refused {path.name}"
        audio = host.render(0.5)
        names = host.names()
        for name, value in expected_normalised(params).items():
            got = host.plugin.get_parameter(names.index(name))
            assert got == pytest.approx(value, abs=1e-5), f"{path.stem}: {name} {got} != {value}"
        assert np.all(np.isfinite(audio)) and rms_dbfs(audio) > MIN_RMS_DBFS
