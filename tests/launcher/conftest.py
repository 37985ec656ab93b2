"""A real X server (Xvfb) for the launcher and desktop-on-X11 tests, where Xvfb is installed."""

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def x_display() -> Iterator[str]:
    """Start Xvfb on a free display number and give its DISPLAY value; skip where it is not installed."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian/Ubuntu: apt-get install xvfb)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb started but did not announce a display number")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def x11_env(display: str, **extra: str) -> dict[str, str]:
    """This process's environment on the X server: no Wayland, no forced platform."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "DISPLAY")}
    env.update(DISPLAY=display, **extra)
    return env
