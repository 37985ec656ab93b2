"""The Linux desktop entry and its installer: a valid entry that starts the built bundle."""

import configparser
import os
import subprocess
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser["Desktop Entry"]


def test_the_desktop_entry_names_an_application_with_its_icon():
    entry = _entry(PACKAGING / "llmos.desktop")
    assert entry["Type"] == "Application" and entry["Name"] == "llmos"
    assert entry["Icon"] == "llmos" and entry["Terminal"] == "false"
    assert (PACKAGING / "icons" / "llmos.svg").is_file() and (PACKAGING / "icons" / "llmos.png").is_file()


def test_installer_points_the_entry_to_the_bundle_and_installs_the_icon(tmp_path):
    bundle = tmp_path / "bundle with space"
    bundle.mkdir()
    (bundle / "llmos").write_text("#!/bin/sh\n")
    (bundle / "llmos").chmod(0o755)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run([str(PACKAGING / "install-desktop-entry.sh"), str(bundle)], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    entry = _entry(tmp_path / "share" / "applications" / "llmos.desktop")
    assert entry["Exec"] == f'"{bundle}/llmos"'
    assert (tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "llmos.png").is_file()


def test_installer_refuses_a_missing_bundle(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "share")}
    result = subprocess.run([str(PACKAGING / "install-desktop-entry.sh"), str(tmp_path / "nothing")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "build it with packaging/build.sh" in result.stderr
