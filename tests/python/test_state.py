"""Saved state: what a DAW project stores and hands back.

A state saved from an instance must restore every parameter exactly, in the same host and in
another one, and sound the same. A damaged state must never take the host down: each damaged
load runs in a process of its own so that a crash is reported as a failure with its signal.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from auralis_audio import rms_dbfs
from auralis_hosts import (
    DEFAULT_DISPLAY,
    KEY_NAMES,
    MIN_RMS_DBFS,
    SCALE_NAMES,
    DawDreamerHost,
    load_pedalboard,
    parameter_raw_values,
    parameter_strings,
    render_pedalboard,
    run_child,
    unwrap_component_state,
)
from state_child import CORRUPT_STATES, EXPECTED_AFTER

SAMPLE_RATE = 48000
SEED_MAX = 65535
#: Non-default values for every parameter, in pedalboard's attribute names and displayed units.
NON_DEFAULT = {
    "key": "F#",
    "scale": "Lydian",
    "tempo_bpm": 97.3,
    "sync_to_host": False,
    "intensity": 83,
    "brightness": 21,
    "space": 14,
    "gain_db": -7.5,
    "midi_out": "All",
    "follow": "Key",
}
#: Set through the normalised value: pedalboard snaps Seed's 65 536 steps to a 1000-point grid
#: when it is set as an attribute (4242 would become 4260).
SEED = 4242
#: The stored ids: stable forever, because saved projects refer to them.
STATE_IDS = {"key", "scale", "tempo", "sync", "intens", "bright", "space", "seed", "gain", "midi", "follow"}
#: DawDreamer's load_state opens the plugin's editor after loading (a workaround of its own for
#: other plugins); Auralis has no editor yet, so it raises this after the state was applied.
DAWDREAMER_NO_EDITOR = "no available editor"


def configured_pedalboard(vst3):
    plugin = load_pedalboard(vst3)
    for name, value in NON_DEFAULT.items():
        setattr(plugin, name, value)
    plugin.parameters["seed"].raw_value = SEED / SEED_MAX
    # JUCE hands the changes to the plugin with the next block (or a timer that may not have
    # fired yet): without one, a save right now saves the defaults about one time in five.
    render_pedalboard(plugin, 0.01, SAMPLE_RATE, buffer_size=512)
    return plugin


def load_state_in_dawdreamer(host: DawDreamerHost, path: str) -> None:
    try:
        host.plugin.load_state(path)
    except RuntimeError as err:
        if DAWDREAMER_NO_EDITOR not in str(err):
            raise


def test_state_round_trip_restores_every_parameter(vst3):
    source = configured_pedalboard(vst3)
    expected = parameter_strings(source)
    unchanged = sorted(name for name, shown in expected.items() if shown == DEFAULT_DISPLAY[name])
    assert not unchanged, f"the test failed to move these parameters off their defaults: {unchanged}"
    assert expected["Seed"] == str(SEED)

    saved = source.raw_state
    stored = json.loads(unwrap_component_state(saved))
    assert set(stored["params"]) == STATE_IDS, f"stored parameter ids changed: {sorted(stored['params'])}"

    restored = load_pedalboard(vst3)
    restored.raw_state = saved
    assert parameter_strings(restored) == expected
    source_raw, restored_raw = parameter_raw_values(source), parameter_raw_values(restored)
    for name, value in source_raw.items():
        assert restored_raw[name] == pytest.approx(value, abs=1e-6), f"{name}: {restored_raw[name]} != {value}"
    assert restored.raw_state == saved, "saving the restored instance gives a different state"

    original_audio = render_pedalboard(source, 3.0, SAMPLE_RATE)
    restored_audio = render_pedalboard(restored, 3.0, SAMPLE_RATE)
    assert rms_dbfs(original_audio) > MIN_RMS_DBFS, "the configured patch is silent"
    difference = float(np.max(np.abs(original_audio - restored_audio)))
    assert difference <= 1e-6, f"restored instance sounds different (max difference {difference:.2e})"


def test_state_moves_between_hosts(vst3, tmp_path):
    # DawDreamer -> pedalboard.
    daw = DawDreamerHost.load(vst3, 44100, 512)
    daw.set_choice("Key", "A#", KEY_NAMES)
    daw.set_choice("Scale", "Phrygian", SCALE_NAMES)
    daw.set_normalized("Intensity", 0.25)
    daw.set_normalized("Seed", 1234 / SEED_MAX)
    daw.render(0.1)  # DawDreamer hands parameter values to the plugin while rendering
    from_daw = tmp_path / "from-dawdreamer.state"
    daw.plugin.save_state(str(from_daw))
    shown_in_daw = {name: daw.plugin.get_parameter_text(i) for i, name in enumerate(daw.names())}
    assert (shown_in_daw["Key"], shown_in_daw["Seed"]) == ("A#", "1234"), shown_in_daw

    plugin = load_pedalboard(vst3)
    plugin.raw_state = from_daw.read_bytes()
    assert parameter_strings(plugin) == shown_in_daw

    # pedalboard -> DawDreamer.
    source = configured_pedalboard(vst3)
    expected = parameter_strings(source)
    from_pedalboard = tmp_path / "from-pedalboard.state"
    from_pedalboard.write_bytes(source.raw_state)
    daw = DawDreamerHost.load(vst3, 44100, 512)
    load_state_in_dawdreamer(daw, str(from_pedalboard))
    audio = daw.render(1.0)
    shown = {name: daw.plugin.get_parameter_text(i) for i, name in enumerate(daw.names())}
    assert shown == expected
    assert np.all(np.isfinite(audio)) and rms_dbfs(audio) > MIN_RMS_DBFS


def damaged_cases():
    cases = [("pedalboard", case) for case in CORRUPT_STATES]
    cases += [("dawdreamer", case) for case in ("random_bytes", "component_random", "component_wrong_types_and_ranges")]
    return [pytest.param(host, case, id=f"{host}-{case}") for host, case in cases]


@pytest.mark.parametrize("host, case", damaged_cases())
def test_damaged_state_is_refused_without_crashing(vst3, host, case):
    result = run_child("state_child.py", [host, case])
    assert result.returncode == 0 and result.report is not None, result.describe()
    report = result.report

    assert report["finite"], f"non-finite audio after loading {case}"
    assert report["peak"] <= 1.0, f"peak {report['peak']:.3f} after loading {case}"
    assert report["rms_dbfs"] is not None and report["rms_dbfs"] > MIN_RMS_DBFS, (
        f"silent after loading {case} (RMS {report['rms_dbfs']} dBFS)"
    )
    params = report["params"]
    assert params["Key"] in KEY_NAMES and params["Scale"] in SCALE_NAMES, params
    assert 30.0 <= float(params["Tempo"]) <= 180.0, params
    assert 0 <= int(params["Seed"]) <= SEED_MAX, params
    expected = EXPECTED_AFTER.get(case, DEFAULT_DISPLAY)
    assert params == expected, (
        f"after loading {case} ({report['host_error'] or 'accepted by the host'}) the parameters are\n"
        f"  {params}\nexpected\n  {expected}"
    )
