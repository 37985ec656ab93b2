"""Can Qt's window platform load here? Asked before a QApplication exists, because Qt aborts the
whole process when its platform plugin cannot load, with no chance to fall back.

On Linux the usual platform is xcb (X11, and XWayland), whose plugin links a dozen small X
libraries from the system; ``libxcb-cursor0`` (needed since Qt 6.5) is absent from many stock
desktops. The check loads each library the plugin needs and names the packages that bring the
missing ones, so the launcher can say what to install and start the terminal chat instead.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Each shared library Qt's xcb plugin loads from the system: (Debian/Ubuntu package, Fedora package).
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
}


@dataclass(frozen=True)
class PlatformCheck:
    """Which platform Qt will use, and the system libraries it needs that do not load."""

    platform: str
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing

    def summary(self) -> str:
        """One line for ``--self-test``."""
        if self.ok:
            return f"platform {self.platform}: its system libraries load"
        return f"platform {self.platform}: missing {', '.join(self.missing)}"

    def install_hint(self) -> str:
        """The missing libraries and their packages on one line (the self-test's failure)."""
        return (f"Qt's {self.platform} platform cannot load: missing {', '.join(self.missing)}; install "
                f"{' '.join(_packages(self.missing, 0))} (Debian/Ubuntu) or "
                f"{' '.join(_packages(self.missing, 1))} (Fedora)")

    def advice(self) -> str:
        """What the user reads instead of Qt's abort: what is missing and how to install it."""
        debian = _packages(self.missing, 0)
        fedora = _packages(self.missing, 1)
        lines = [f"The window cannot open: Qt's {self.platform} platform needs system libraries that are "
                 f"not installed ({', '.join(self.missing)})."]
        if debian:
            lines.append(f"  Debian/Ubuntu: sudo apt-get install {' '.join(debian)}")
        if fedora:
            lines.append(f"  Fedora:        sudo dnf install {' '.join(fedora)}")
        lines.append("Install them and start llmos-desktop again.")
        return "\n".join(lines)


def qt_platform(environ: dict[str, str] | None = None) -> str:
    """The platform Qt will try first, as Qt itself picks it (QT_QPA_PLATFORM, then the session)."""
    env = os.environ if environ is None else environ
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if sys.platform == "darwin":
        return "cocoa"
    if sys.platform == "win32":
        return "windows"
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def check_platform(environ: dict[str, str] | None = None) -> PlatformCheck:
    """Check the libraries of the platform Qt will pick; only xcb is known to lack them in practice."""
    platform = qt_platform(environ)
    if platform != "xcb":
        return PlatformCheck(platform)
    return PlatformCheck(platform, missing_libraries(XCB_LIBRARIES, xcb_plugin_files()))


def missing_libraries(sonames: Iterable[str], plugin_files: Sequence[Path] = ()) -> tuple[str, ...]:
    """Libraries that the dynamic loader cannot load, known ones first, then any ``ldd`` reports."""
    missing = [name for name in sonames if not _loads(name)]
    for name in _unresolved_by_ldd(plugin_files):
        if name not in missing:
            missing.append(name)
    return tuple(missing)


def xcb_plugin_files() -> list[Path]:
    """Qt's xcb plugin and its own library, wherever PySide6 lies (an install or a bundle)."""
    try:
        from PySide6.QtCore import QLibraryInfo
    except ImportError:
        return []
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    libraries = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath))
    candidates = [plugins / "platforms" / "libqxcb.so", libraries / "libQt6XcbQpa.so.6"]
    return [path for path in candidates if path.is_file()]


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _unresolved_by_ldd(files: Sequence[Path]) -> list[str]:
    """Names ``ldd`` marks ``not found``: it also sees libraries the known list does not name."""
    ldd = shutil.which("ldd")
    if not ldd or not files:
        return []
    names: list[str] = []
    for path in files:
        try:
            listing = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in listing.splitlines():
            name, _, where = line.strip().partition(" => ")
            if where.strip() == "not found" and name not in names:
                names.append(name)
    return names


def _packages(missing: tuple[str, ...], family: int) -> list[str]:
    packages: list[str] = []
    for name in missing:
        package = XCB_LIBRARIES.get(name, (None, None))[family]
        if package and package not in packages:
            packages.append(package)
    return packages
