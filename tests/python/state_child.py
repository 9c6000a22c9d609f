"""Loads a damaged state into Auralis inside a host, in a process of its own.

Usage: ``python state_child.py <pedalboard|dawdreamer> <case>`` with ``AURALIS_VST3`` set.
Prints one JSON line: whether the host raised, the parameters afterwards, and measurements of
one second rendered afterwards. If the plugin crashes the host, the parent sees the signal.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile

import numpy as np

from auralis_hosts import DawDreamerHost, bundle_from_env, load_pedalboard, render_pedalboard, wrap_component_state

_RNG = np.random.default_rng(20240611)

#: Damaged state blobs by name. Cases starting with ``component_`` are well-formed host blobs
#: around damaged plugin bytes, so they reach the plugin's own parser; the others test the host's
#: handling of the wrapper.
CORRUPT_STATES: dict[str, bytes] = {
    "random_bytes": _RNG.bytes(4096),
    "empty": b"",
    "header_claims_2_gib": b"VC2!\xff\xff\xff\x7f",
    "garbage_xml": b"VC2!" + struct.pack("<I", 620) + b"<VST3PluginState><IComponent>zz" * 20 + b"\0",
    "component_random": wrap_component_state(_RNG.bytes(1024)),
    "component_truncated_json": wrap_component_state(b'{"version":"0.1.0","params":{"key":{"string":"f#"'),
    "component_deeply_nested": wrap_component_state(b"[" * 100_000 + b"]" * 100_000),
    "component_wrong_types_and_ranges": wrap_component_state(
        json.dumps(
            {
                "version": "99.0.0",
                "params": {
                    "key": {"i32": 99},
                    "scale": {"string": "no-such-scale"},
                    "tempo": {"f32": 1e30},
                    "intens": {"f32": -5.0},
                    "gain": {"string": "loud"},
                    "seed": {"i32": -1},
                    "sync": {"f32": 1.0},
                    "bright": {"f32": 0.2},
                    "space": {"f32": 0.35},
                    "future": {"bool": True},
                },
                "fields": {"unknown": "x"},
            }
        ).encode()
    ),
}

#: What a partly valid state must leave behind (displayed values): valid entries applied,
#: out-of-range numbers clamped, unusable entries ignored so the default stays.
EXPECTED_AFTER = {
    "component_wrong_types_and_ranges": {
        "Key": "D",
        "Scale": "Dorian",
        "Tempo": "180.0",
        "Intensity": "0",
        "Gain": "0.0",
        "Seed": "0",
        "Sync to Host": "On",
        "Brightness": "20",
        "Space": "35",
        "MIDI Out": "Melody + Chords",
        "Follow": "Off",
    }
}


def _measure(audio: np.ndarray) -> dict:
    finite = bool(np.all(np.isfinite(audio)))
    clean = np.nan_to_num(audio)
    mean_square = float(np.mean(np.square(clean, dtype=np.float64)))
    return {
        "finite": finite,
        "peak": float(np.max(np.abs(clean))),
        "rms_dbfs": 10.0 * np.log10(mean_square) if mean_square > 0 else None,
    }


def _pedalboard(case: str) -> dict:
    plugin = load_pedalboard(bundle_from_env())
    error = None
    try:
        plugin.raw_state = CORRUPT_STATES[case]
    except Exception as err:  # noqa: BLE001 - any Python-level error is an acceptable refusal
        error = f"{type(err).__name__}: {err}"
    params = {param.name: param.string_value for param in plugin.parameters.values()}
    audio = render_pedalboard(plugin, 1.0, 48000)
    return {"host_error": error, "params": params, **_measure(audio)}


def _dawdreamer(case: str) -> dict:
    host = DawDreamerHost.load(bundle_from_env(), 44100, 512)
    error = None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "damaged.state")
        with open(path, "wb") as file:
            file.write(CORRUPT_STATES[case])
        try:
            host.plugin.load_state(path)
        except Exception as err:  # noqa: BLE001
            error = f"{type(err).__name__}: {err}"
    audio = host.render(1.0)
    params = {name: host.plugin.get_parameter_text(i) for i, name in enumerate(host.names())}
    return {"host_error": error, "params": params, **_measure(audio)}


def main() -> None:
    host, case = sys.argv[1], sys.argv[2]
    report = {"pedalboard": _pedalboard, "dawdreamer": _dawdreamer}[host](case)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
