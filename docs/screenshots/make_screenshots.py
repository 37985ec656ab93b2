"""Rebuild the screenshots in this folder from a short real conversation with the default model.

    python docs/screenshots/make_screenshots.py [--data-dir DIR]

The default embedded model (Qwen2.5-Coder 1.5B Instruct) holds the conversation and edits its
core memory itself; nothing is edited by hand. The window is 2048 tokens so that the
conversation overflows it: the timeline then has evictions and summaries to show. Each view is rendered by ``llmos-desktop --screenshot`` on a
virtual X display (``xvfb-run``) so the real X11 platform plugin draws it; where Xvfb is not
installed, Qt's offscreen platform draws it instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
VIEWS = ("chat", "memory", "timeline", "settings")
N_CTX = 2048
SCRIPT = [
    "Hi! I'm Maya. I live in Lisbon and I work as a marine biologist.",
    "Please remember that my sister Ingrid's birthday is on the 14th of March.",
    "Last week we took the boat out past Cascais to count dolphins. We saw a pod of about thirty common "
    "dolphins, two of them calves, and the water was so calm that we could hear them breathe. On the way "
    "back the engine stalled twice and we drifted for an hour until Rui fixed the fuel line with tape. "
    "I wrote everything down in my field notebook, including the sea temperature, 17.5 degrees.",
    "What is my sister's name, and when is her birthday?",
    "Thanks! Can you give me one tip for keeping a field notebook tidy?",
]
NOTE = "Field season 2026: dolphin survey every second Tuesday from Cascais harbour, boat Gaivota, skipper Rui."


def build(data_dir: Path) -> None:
    from engine.api import Engine, RuntimeSettings

    os.environ.pop("LLMOS_MODEL", None)  # the default model, whatever the shell names
    engine = Engine(data_dir, RuntimeSettings(n_ctx=N_CTX, seed=7))
    try:
        engine.load_model()
        engine.insert_passage(NOTE, source="field-notes.md")
        for text in SCRIPT:
            for _ in engine.send(text):
                pass
    finally:
        engine.close()


def shoot(data_dir: Path, view: str, config_home: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home))
    env.pop("LLMOS_MODEL", None)
    command = [sys.executable, "-m", "desktop.app", "--data-dir", str(data_dir), "--n-ctx", str(N_CTX),
               "--screenshot", str(HERE / f"{view}.png"), "--view", view]
    xvfb = shutil.which("xvfb-run")
    if xvfb:
        env["QT_QPA_PLATFORM"] = "xcb"
        command = [xvfb, "--auto-servernum", "--server-args=-screen 0 1600x1000x24", *command]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    subprocess.run(command, check=True, env=env, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse (or build into) this data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if not (data_dir / "llmos.duckdb").exists():
            build(data_dir)
        for view in VIEWS:
            shoot(data_dir, view, Path(tmp) / "config")
            print(f"wrote {HERE / f'{view}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
