"""The standalone's window under a virtual X display, as a musician would meet it.

Runs ``auralis run --backend dummy`` (``AURALIS_STANDALONE``) on Xvfb and checks what a person
would: the window is drawn in the theme and moves with the music; at the host's scale 1.0, 1.5
and 2.0 (``Xft.dpi``, which the window system reads as the scale factor) and at its minimum
and a large size, at least five layers of the default patch show on the piano roll in their
own hues, no text is clipped or overlapping, and every text reads at 4.5:1 or better; and the
keyboard alone reaches a slider and changes the plugin's parameter.

What egui laid out comes from the editor's probe (``AURALIS_GUI_PROBE``): every text with its
rectangle, clip rectangle, colour and the colours painted beneath it. Screenshots go to
``target/test-artifacts`` (``AURALIS_ARTIFACTS``), kept for a reader when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageGrab

#: The theme's ground and accent (plugin/src/editor/theme.rs).
BACKGROUND = np.array([10, 13, 24])
ACCENT = np.array([157, 140, 255])
#: The window's default, minimum and a large size in logical pixels (plugin/src/editor.rs).
DEFAULT = (980, 620)
MINIMUM = (760, 520)
LARGE = (1440, 900)
#: A screen big enough for the large size at scale 2.
SCREEN = (3000, 1900)
#: WCAG AA for body text.
MIN_CONTRAST = 4.5


def free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(
            f"/tmp/.X11-unix/X{number}"
        ).exists():
            return number
    raise RuntimeError("no free X display number in :90–:199")


@contextmanager
def xvfb(scale: float = 1.0):
    """A virtual display whose Xft.dpi makes the window system report `scale`."""
    server_path = shutil.which("Xvfb")
    assert server_path, "Xvfb is missing: cargo xtask test installs Debian's xvfb"
    number = free_display()
    server = subprocess.Popen(
        # -noreset: without it the server resets when its last client leaves, and xrdb's
        # setting leaves with it.
        [server_path, f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket_path = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 15
        while not socket_path.exists():
            assert server.poll() is None, "Xvfb exited at start"
            assert time.monotonic() < deadline, "Xvfb did not come up"
            time.sleep(0.05)
        display = f":{number}"
        xrdb = shutil.which("xrdb")
        assert xrdb, "xrdb is missing: cargo xtask test installs Debian's x11-xserver-utils"
        # -nocpp: the resource line needs no preprocessor (and Debian may not have one).
        subprocess.run(
            [xrdb, "-nocpp", "-merge"],
            input=f"Xft.dpi: {round(96 * scale)}\n",
            text=True,
            env=dict(os.environ, DISPLAY=display),
            check=True,
        )
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def display():
    with xvfb() as display:
        yield display


def standalone() -> Path:
    path = os.environ.get("AURALIS_STANDALONE")
    if not path:
        raise pytest.UsageError("set AURALIS_STANDALONE to the auralis binary (cargo xtask test does)")
    return Path(path)


def artifacts() -> Path:
    # The default is the workspace's target/, wherever pytest was started from: relative to the
    # working directory, a run from tests/python wrote into the source tree.
    default = Path(__file__).resolve().parents[2] / "target" / "test-artifacts"
    path = Path(os.environ.get("AURALIS_ARTIFACTS", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


class App:
    """`auralis run` on a display, with the editor's probe written to a file."""

    def __init__(self, display: str, tmp_path: Path, **extra_env: str):
        self.display = display
        self.probe_path = tmp_path / "probe.json"
        self.log_path = tmp_path / "auralis.log"
        env = dict(
            os.environ,
            DISPLAY=display,
            AURALIS_RENDERER="cpu",
            AURALIS_GUI_PROBE=str(self.probe_path),
            **extra_env,
        )
        env.setdefault("XDG_RUNTIME_DIR", str(tmp_path))
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(standalone()), "run", "--backend", "dummy"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def said(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def probe(self) -> dict | None:
        try:
            return json.loads(self.probe_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def wait_probe(self, what: str, ok, timeout_s: float = 45.0) -> dict:
        """The first probe report for which `ok(report)` holds."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the app exited:\n{self.said()}"
            report = self.probe()
            if report is not None:
                last = report
                if ok(report):
                    return report
            time.sleep(0.2)
        summary = {k: v for k, v in (last or {}).items() if k not in ("texts", "palette")}
        pytest.fail(f"timed out waiting for {what}; last probe: {summary}; the app said:\n{self.said()}")

    def window(self) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = xdotool(self.display, "search", "--name", "^Auralis$", check=False)
            if found.returncode == 0 and found.stdout.split():
                return found.stdout.split()[0]
            time.sleep(0.2)
        pytest.fail("no window named Auralis appeared")

    def grab(self, physical: tuple[int, int]) -> np.ndarray:
        image = ImageGrab.grab(xdisplay=self.display).crop((0, 0, *physical))
        return np.asarray(image.convert("RGB")).astype(int)

    def save(self, name: str, physical: tuple[int, int]) -> Path:
        path = artifacts() / name
        ImageGrab.grab(xdisplay=self.display).crop((0, 0, *physical)).save(path)
        return path

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.log.close()
        return code


def xdotool(display: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    tool = shutil.which("xdotool")
    assert tool, "xdotool is missing: cargo xtask test installs Debian's xdotool"
    return subprocess.run(
        [tool, *args],
        env=dict(os.environ, DISPLAY=display),
        capture_output=True,
        text=True,
        check=check,
    )


def share_near(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 12) -> float:
    close = np.abs(pixels - colour).max(axis=2) <= tolerance
    return float(close.mean())


def share_of_accent_hue(pixels: np.ndarray) -> float:
    """The share of pixels in the accent's violet at any brightness (sliders, the chosen key,
    the playhead, the pad's notes, the meters)."""
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return float(((blue - green > 60) & (red - green > 5) & (blue > 120)).mean())


def describe(pixels: np.ndarray) -> str:
    return (
        f"background {share_near(pixels, BACKGROUND):.3f}, accent hue {share_of_accent_hue(pixels):.4f}, "
        f"{len(np.unique(pixels.reshape(-1, 3), axis=0))} colours"
    )


# --- what a text needs: room, and contrast ------------------------------------------------


def luminance(colour) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = colour[:3]
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b) -> float:
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def seen_on(ink, ground):
    """Text colour `ink` ([r, g, b, a], unmultiplied) as it shows on the opaque `ground`."""
    alpha = ink[3] / 255
    return [ink[i] * alpha + ground[i] * (1 - alpha) for i in range(3)]


def layout_problems(report: dict) -> list[str]:
    """Texts cut off, outside the window, overlapping each other, or below 4.5:1."""
    problems = []
    texts = [t for t in report["texts"] if t["text"].strip()]
    screen = report["screen"]
    tolerance = 0.5
    for text in texts:
        x0, y0, x1, y1 = text["rect"]
        cx0, cy0, cx1, cy1 = text["clip"]
        label = repr(text["text"][:40])
        if text["elided"]:
            problems.append(f"{label} is cut short with an ellipsis")
        if x0 < cx0 - tolerance or y0 < cy0 - tolerance or x1 > cx1 + tolerance or y1 > cy1 + tolerance:
            problems.append(f"{label} at {text['rect']} is clipped by {text['clip']}")
        if x0 < screen[0] - tolerance or y0 < screen[1] - tolerance or x1 > screen[2] + tolerance or y1 > screen[3] + tolerance:
            problems.append(f"{label} at {text['rect']} is outside the window {screen}")
        for ink in text["colours"]:
            for ground in text["grounds"]:
                ratio = contrast(seen_on(ink, ground), ground)
                if ratio < MIN_CONTRAST:
                    problems.append(f"{label}: {ink} on {ground} is {ratio:.2f}:1")
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            ax0, ay0, ax1, ay1 = a["rect"]
            bx0, by0, bx1, by1 = b["rect"]
            overlap_x = min(ax1, bx1) - max(ax0, bx0)
            overlap_y = min(ay1, by1) - max(ay0, by0)
            if overlap_x > 1 and overlap_y > 1:
                problems.append(f"{a['text'][:30]!r} at {a['rect']} overlaps {b['text'][:30]!r} at {b['rect']}")
    return problems


def hue_saturation_value(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HSV of sRGB pixels (hue in degrees), as colorsys computes it, for a whole image."""
    rgb = pixels.reshape(-1, 3).astype(float) / 255.0
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    spread = np.where(high > low, high - low, 1.0)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    hue = np.where(
        high == r,
        (g - b) / spread,
        np.where(high == g, 2.0 + (b - r) / spread, 4.0 + (r - g) / spread),
    )
    hue = (hue * 60.0) % 360.0
    saturation = np.where(high > 0, (high - low) / np.where(high > 0, high, 1.0), 0.0)
    return hue, saturation, high


def hue_pixels(pixels: np.ndarray, palette: dict) -> dict[str, int]:
    """For each layer's hue, how many of the area's pixels are in that hue (±12°), saturated
    and bright enough to be a note rather than the ground or a hairline."""
    rgb = pixels.reshape(-1, 3)
    high, low = rgb.max(axis=1) / 255.0, rgb.min(axis=1) / 255.0
    # Saturation and value above 0.3, as HSV has them, found before any hue is computed: the
    # roll is mostly dark ground, and at scale 2 it is millions of pixels.
    vivid = rgb[(high > 0.3) & ((high - low) / np.maximum(high, 1e-9) > 0.3)]
    hue = hue_saturation_value(vivid)[0]
    counts = {}
    for name, colour in palette.items():
        if not name.startswith("layer-"):
            continue
        target = hue_saturation_value(np.array([colour[:3]]))[0][0]
        distance = np.abs((hue - target + 180) % 360 - 180)
        counts[name.removeprefix("layer-")] = int((distance <= 12).sum())
    return counts


# --- the tests ----------------------------------------------------------------------------


def test_the_window_draws_the_editor_and_moves_with_the_music(display, tmp_path):
    app = App(display, tmp_path)
    try:
        # Drawn means: mostly the theme's ground, the accent, and detail (text, controls).
        deadline = time.monotonic() + 45
        while True:
            assert app.process.poll() is None, app.said()
            first = app.grab(DEFAULT)
            if share_near(first, BACKGROUND) > 0.2 and share_of_accent_hue(first) > 0.005:
                break
            if time.monotonic() > deadline:
                path = app.save("gui-never-drawn.png", DEFAULT)
                pytest.fail(
                    f"the window was never drawn in 45 s ({describe(first)}); "
                    f"the screen is in {path}; the app said:\n{app.said()}"
                )
            time.sleep(0.5)
        # Let the music run: the roll scrolls and notes appear.
        time.sleep(4.0)
        second = app.grab(DEFAULT)
        app.save("gui.png", DEFAULT)

        colours = len(np.unique(second.reshape(-1, 3), axis=0))
        assert colours > 100, f"only {colours} colours: the window looks blank"
        assert share_near(second, BACKGROUND) > 0.2, f"the dark theme is not on screen: {describe(second)}"
        assert share_of_accent_hue(second) > 0.005, f"the accent is not on screen: {describe(second)}"
        # The exact accent, not only its hue: the sliders' fill, the playhead.
        assert share_near(second, ACCENT, 30) > 0.0005, f"the accent colour is missing: {describe(second)}"
        changed = np.abs(second - first).max(axis=2) > 8
        assert changed.mean() > 0.002, "nothing on screen moved in four seconds"
        assert app.process.poll() is None, "the app died while running"

        # A window manager, a service manager or a terminal ends the program with SIGTERM.
        app.process.send_signal(signal.SIGTERM)
        try:
            code = app.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail("the app ignored SIGTERM for 5 s")
        assert code == 0, f"exit status {code} on SIGTERM"
    finally:
        app.stop()


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
def test_the_window_is_legible_at_every_scale_and_size(scale, tmp_path):
    with xvfb(scale) as display:
        app = App(display, tmp_path)
        try:
            app.wait_probe(
                f"the window at scale {scale}",
                lambda r: r["frames"] > 5 and abs(r["pixels_per_point"] - scale) < 0.01,
            )
            window = app.window()
            for size in (MINIMUM, LARGE):
                physical = (round(size[0] * scale), round(size[1] * scale))
                xdotool(display, "windowsize", window, str(physical[0]), str(physical[1]))
                name = f"gui-scale{scale:g}-{size[0]}x{size[1]}.png"

                def laid_out(report, size=size):
                    width = report["screen"][2] - report["screen"][0]
                    height = report["screen"][3] - report["screen"][1]
                    return abs(width - size[0]) < 1 and abs(height - size[1]) < 1

                app.wait_probe(f"the window to take {size} at scale {scale}", laid_out, 20)
                # The default patch: look until the pictures of the roll at this size have
                # shown five layers' hues between them (the sparse ones come and go as the
                # music scrolls by, and the melody can rest for a minute at the default
                # intensity; on a slow machine the pictures at scale 2 come seconds apart).
                deadline = time.monotonic() + 120
                seen = set()
                while True:
                    report = app.wait_probe(f"the window at {size}", laid_out, 10)
                    pixels = app.grab(physical)
                    x0, y0, x1, y1 = (round(v * scale) for v in report["areas"]["roll"])
                    counts = hue_pixels(pixels[y0:y1, x0:x1], report["palette"])
                    # A short, quiet note is a few pixels wide and tall: at least that many.
                    seen.update(layer for layer, count in counts.items() if count >= 8 * scale * scale)
                    shown = sorted(seen)
                    if len(shown) >= 5 or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                path = app.save(name, physical)
                assert len(shown) >= 5, (
                    f"only {shown} of the layer hues are on the roll at scale {scale}, {size} "
                    f"(pixels {counts}; the probe counts notes {report['voices']}); see {path}"
                )
                problems = layout_problems(report)
                assert not problems, (
                    f"at scale {scale}, {size} (see {path}):\n  " + "\n  ".join(problems[:20])
                )
        finally:
            app.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def plugin_status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as response:
        return json.load(response)


def test_the_keyboard_alone_changes_a_parameter(display, tmp_path):
    """Tab to the Intensity slider, nudge it with the arrow keys, then type a value with Enter:
    the plugin's parameter (as the web monitor's /status reports it) follows."""
    port = free_port()
    app = App(display, tmp_path, AURALIS_MONITOR_PORT=str(port))
    try:
        app.wait_probe("the window", lambda r: r["frames"] > 5)
        window = app.window()
        deadline = time.monotonic() + 20
        while True:
            try:
                before = plugin_status(port)["intensity"]
                break
            except OSError:
                assert time.monotonic() < deadline, f"the monitor never answered:\n{app.said()}"
                time.sleep(0.3)
        xdotool(display, "windowfocus", "--sync", window)

        focused = None
        for _ in range(40):
            xdotool(display, "key", "Tab")
            # The probe reports at most every half second.
            time.sleep(0.6)
            focused = (app.probe() or {}).get("focused")
            if focused == "Intensity":
                break
        assert focused == "Intensity", f"Tab never reached the Intensity slider (last focus: {focused})"

        xdotool(display, "key", "--delay", "80", "Right", "Right", "Right", "Right", "Right")
        deadline = time.monotonic() + 10
        while (now := plugin_status(port)["intensity"]) < before + 0.045 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert abs(now - (before + 0.05)) < 0.006, f"five Right presses took intensity {before} to {now}"

        xdotool(display, "key", "Return")
        time.sleep(0.5)
        xdotool(display, "key", "ctrl+a")
        xdotool(display, "type", "--delay", "60", "72")
        xdotool(display, "key", "Return")
        deadline = time.monotonic() + 10
        while abs((typed := plugin_status(port)["intensity"]) - 0.72) > 0.006 and time.monotonic() < deadline:
            time.sleep(0.2)
        app.save("gui-keyboard.png", DEFAULT)
        assert abs(typed - 0.72) < 0.006, f"typing 72 and Enter left intensity at {typed}"
        focused = app.wait_probe("focus back on the slider", lambda r: r["focused"] == "Intensity", 5)
        assert focused
    finally:
        app.stop()
