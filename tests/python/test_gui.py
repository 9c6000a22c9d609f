"""The standalone's window under a virtual X display: it opens, draws the editor, and moves.

Runs ``auralis run --backend dummy`` (``AURALIS_STANDALONE``) on Xvfb, grabs the screen with
Pillow, saves the picture as a test artifact (``target/test-artifacts/gui.png``) and checks
what a person would: the window is drawn (the theme's colours, text and shapes, not a blank or
black frame), the accent colour of the music is on screen, and the picture changes as the music
plays (the piano roll scrolls, the meters move).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageGrab

#: The theme's window background and accent (plugin/src/editor/theme.rs).
BACKGROUND = np.array([14, 17, 22])
ACCENT = np.array([94, 196, 182])
#: The window's default size in pixels at scale 1 (plugin/src/editor.rs).
WINDOW = (980, 620)


def free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(
            f"/tmp/.X11-unix/X{number}"
        ).exists():
            return number
    raise RuntimeError("no free X display number in :90–:199")


@pytest.fixture
def display():
    xvfb = shutil.which("Xvfb")
    assert xvfb, "Xvfb is missing: cargo xtask test installs Debian's xvfb"
    number = free_display()
    server = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 15
    while not socket.exists():
        assert server.poll() is None, "Xvfb exited at start"
        assert time.monotonic() < deadline, "Xvfb did not come up"
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def standalone() -> Path:
    path = os.environ.get("AURALIS_STANDALONE")
    if not path:
        raise pytest.UsageError("set AURALIS_STANDALONE to the auralis binary (cargo xtask test does)")
    return Path(path)


def grab(display: str) -> np.ndarray:
    image = ImageGrab.grab(xdisplay=display)
    return np.asarray(image.convert("RGB"))[: WINDOW[1], : WINDOW[0]].astype(int)


def share_near(pixels: np.ndarray, colour: np.ndarray, tolerance: int = 12) -> float:
    close = np.abs(pixels - colour).max(axis=2) <= tolerance
    return float(close.mean())


def share_of_accent_hue(pixels: np.ndarray) -> float:
    """The share of pixels in the accent's teal at any brightness.

    The exact accent colour covers only a few hundred pixels (the chord's name, the playhead),
    anti-aliased differently as the music changes; its hue also fills the sliders, the chosen
    key and the spectrum, which are on screen whatever plays.
    """
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return float(((green - red > 50) & (blue - red > 40)).mean())


def looks_drawn(pixels: np.ndarray) -> bool:
    return share_near(pixels, BACKGROUND) > 0.2 and share_of_accent_hue(pixels) > 0.01


def describe(pixels: np.ndarray) -> str:
    return (
        f"background {share_near(pixels, BACKGROUND):.3f}, accent hue {share_of_accent_hue(pixels):.4f}, "
        f"{len(np.unique(pixels.reshape(-1, 3), axis=0))} colours"
    )


def test_the_window_draws_the_editor_and_moves_with_the_music(display, tmp_path):
    env = dict(os.environ, DISPLAY=display, AURALIS_RENDERER="cpu")
    env.setdefault("XDG_RUNTIME_DIR", str(tmp_path))
    artifacts = Path(os.environ.get("AURALIS_ARTIFACTS", "target/test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / "auralis.log"
    log = open(log_path, "wb")
    app = subprocess.Popen(
        [str(standalone()), "run", "--backend", "dummy"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Drawn means: mostly the theme's background, the accent, and detail (text, controls).
        deadline = time.monotonic() + 45
        while True:
            assert app.poll() is None, log_path.read_text(errors="replace")
            first = grab(display)
            if looks_drawn(first):
                break
            if time.monotonic() > deadline:
                # What the screen showed and what the app said are what a reader needs.
                ImageGrab.grab(xdisplay=display).save(artifacts / "gui-never-drawn.png")
                pytest.fail(
                    f"the window was never drawn in 45 s ({describe(first)}); "
                    f"the screen is in {artifacts / 'gui-never-drawn.png'}; the app said:\n"
                    + log_path.read_text(errors="replace")[-4000:]
                )
            time.sleep(0.5)
        # Let the music run: the roll scrolls and notes appear.
        time.sleep(4.0)
        second = grab(display)
        ImageGrab.grab(xdisplay=display).crop((0, 0, *WINDOW)).save(artifacts / "gui.png")

        colours = len(np.unique(second.reshape(-1, 3), axis=0))
        assert colours > 100, f"only {colours} colours: the window looks blank"
        assert share_near(second, BACKGROUND) > 0.2, f"the dark theme is not on screen: {describe(second)}"
        assert share_of_accent_hue(second) > 0.01, f"the accent is not on screen: {describe(second)}"
        # The exact accent, not only its hue: the chord's name and the playhead.
        assert share_near(second, ACCENT, 30) > 0.0002, f"the accent colour is missing: {describe(second)}"
        changed = np.abs(second - first).max(axis=2) > 8
        assert changed.mean() > 0.002, "nothing on screen moved in four seconds"
        assert app.poll() is None, "the app died while running"

        # A window manager, a service manager or a terminal ends the program with SIGTERM.
        app.send_signal(signal.SIGTERM)
        try:
            code = app.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pytest.fail("the app ignored SIGTERM for 5 s")
        assert code == 0, f"exit status {code} on SIGTERM"
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        log.close()
