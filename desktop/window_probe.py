"""Open one real window on the display and wait until it is shown: proof that the platform works.

The probe runs in a process of its own, because Qt aborts a process whose platform cannot load;
the self-test reads the probe's one line and its exit status instead of dying with it.
"""

from __future__ import annotations

import subprocess
import sys
import time

PROBE_FLAG = "--window-probe"
EXPOSED_WITHIN_S = 15.0


class WindowProbeFailure(Exception):
    """The window did not appear on the display."""


def probe_command() -> list[str]:
    """How to start the probe: the bundle's executable takes the flag itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, PROBE_FLAG]
    return [sys.executable, "-m", "desktop.app", PROBE_FLAG]


def run_window_probe(timeout_s: float = 60.0) -> str:
    """Run the probe process; its line on success, else WindowProbeFailure with what it said."""
    try:
        done = subprocess.run(probe_command(), capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise WindowProbeFailure(f"no window within {timeout_s:.0f} s") from exc
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    if done.returncode != 0:
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise WindowProbeFailure(f"the window did not open ({reason})")
    return done.stdout.strip().splitlines()[-1]


def show_probe_window() -> int:
    """Inside the probe process: show a window, wait until the display exposes it, print one line."""
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = QLabel("llmos self-test")
    window.setWindowTitle("llmos self-test")
    window.resize(320, 120)
    started = time.perf_counter()
    window.show()
    while not (window.windowHandle() and window.windowHandle().isExposed()):
        if time.perf_counter() - started > EXPOSED_WITHIN_S:
            print(f"the window was not exposed within {EXPOSED_WITHIN_S:.0f} s", file=sys.stderr)
            return 1
        app.processEvents()
        time.sleep(0.01)
    size = window.size()
    print(f"{app.platformName()} window {size.width()}x{size.height()} shown in "
          f"{1000 * (time.perf_counter() - started):.0f} ms")
    window.close()
    return 0
