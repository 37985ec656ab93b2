"""The launcher on a real X server: a missing Qt system library gets advice and the terminal chat,
never Qt's abort; where the libraries are there, a real window opens."""

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.platform_check import PlatformCheck, check_platform, missing_libraries, qt_platform
from tests.launcher.conftest import x11_env

ROOT = Path(__file__).resolve().parents[2]
HIDDEN = "libxcb-cursor.so.0"  # needed by Qt's xcb plugin since Qt 6.5; missing on many desktops


def test_a_library_the_loader_cannot_load_is_reported_missing():
    assert missing_libraries(["libc.so.6", "libllmos-absent.so.7"]) == ("libllmos-absent.so.7",)


def test_the_advice_names_each_missing_library_and_the_packages_that_bring_it():
    advice = PlatformCheck("xcb", ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-shape.so.0")).advice()
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-shape.so.0" in advice
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-shape0" in advice
    assert "sudo dnf install xcb-util-cursor xcb-util-wm libxcb" in advice


def test_the_platform_is_the_one_qt_would_pick():
    assert qt_platform({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert qt_platform({"DISPLAY": ":0"}) == "xcb"
    assert qt_platform({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert check_platform({"QT_QPA_PLATFORM": "offscreen"}) == PlatformCheck("offscreen")


def _hiding(library: str) -> list[str]:
    """A command prefix that runs its command with ``library`` unloadable (a private mount namespace
    with /dev/null bound over the file), or nothing where the library is missing already."""
    try:
        ctypes.CDLL(library)
    except OSError:
        return []
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip(f"{library} is installed and hiding it needs root and unshare")
    stem = library.split(".so")[0] + ".so."
    mapped = (line.split() for line in Path("/proc/self/maps").read_text().splitlines())
    path = next(parts[5] for parts in mapped if len(parts) >= 6 and Path(parts[5]).name.startswith(stem))
    return ["unshare", "-m", "sh", "-c", f'mount --bind /dev/null "{os.path.realpath(path)}" && exec "$@"', "sh"]


def test_a_missing_xcb_library_gets_advice_and_the_terminal_chat_instead_of_an_abort(x_display, tmp_path):
    command = [*_hiding(HIDDEN), sys.executable, "-m", "desktop.app", "--data-dir", str(tmp_path / "data")]
    result = subprocess.run(command, input="", capture_output=True, text=True, timeout=600, cwd=ROOT,
                            env=x11_env(x_display))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"not installed ({HIDDEN}" in result.stderr or f", {HIDDEN}" in result.stderr
    assert "sudo apt-get install" in result.stderr and "libxcb-cursor0" in result.stderr
    assert "sudo dnf install" in result.stderr and "xcb-util-cursor" in result.stderr
    assert "Starting the terminal chat instead." in result.stderr
    assert "Could not load the Qt platform plugin" not in result.stderr
    assert (tmp_path / "data").is_dir()  # the terminal chat opened the memory


def _libraries_present(display: str) -> None:
    check = check_platform(x11_env(display))
    if not check.ok:
        pytest.skip(check.install_hint())


def test_the_window_probe_shows_a_real_window_on_the_x_server(x_display):
    _libraries_present(x_display)
    result = subprocess.run([sys.executable, "-m", "desktop.app", "--window-probe"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT, env=x11_env(x_display))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("xcb window 320x120 shown in ")


def test_the_desktop_suite_passes_on_a_real_x_server(x_display):
    """The offscreen desktop tests once more on X11, so a plugin or library regression shows."""
    _libraries_present(x_display)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/desktop"],
                            capture_output=True, text=True, timeout=1800, cwd=ROOT,
                            env=x11_env(x_display, LLMOS_TEST_QT_PLATFORM="xcb"))
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout.splitlines()[-1]
