"""How responsive the desktop stays: start-to-window time, and the longest UI stall during a reply.

- ``start_to_window_s``: from launching ``llmos-desktop``'s Python process to the main window's
  first paint (median over ``--starts`` launches). The memory and the model open afterwards, in
  the background, so they are not in this figure; ``start_to_model_s`` says when the model was ready.
- ``stall_ms``: a 5 ms QTimer runs on the UI thread while a real reply streams into the chat; the
  longest gap between two ticks, minus the interval, is the longest time the UI could not react.
  Median and max over ``--replies`` replies. The baseline is the same timer while the app sits
  idle with the model loaded, in the same run.

    python bench/ui.py [--starts 5] [--replies 3] [--json]

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) unless a display is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"

TICK_MS = 5
PROMPTS = ["Hello! Tell me about your memory.", "What do you know about gardens?",
           "Tell me a short story about a lighthouse.", "How do you remember things?", "What is the sea like?"]

_CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
from PySide6.QtCore import QObject, QEvent, QTimer
from PySide6.QtWidgets import QApplication
from desktop.app import run_app
import desktop.main_window as mw

class FirstPaint(QObject):
    def __init__(self):
        super().__init__()
        self.painted = None
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and self.painted is None and isinstance(obj, mw.MainWindow):
            self.painted = time.time()
        return False

app = QApplication([sys.argv[0]])
spy = FirstPaint()
app.installEventFilter(spy)
def poll():
    w = next((x for x in app.topLevelWidgets() if isinstance(x, mw.MainWindow)), None)
    if w is not None and w.client.model_name and spy.painted:
        print("PAINT", spy.painted, "MODEL", time.time(), flush=True)
        w.close(); app.exit(0)
    else:
        QTimer.singleShot(20, poll)
QTimer.singleShot(0, poll)
run_app(["--data-dir", {data!r}, "--n-ctx", "2048"])
"""


def start_to_window(data_dir: Path) -> tuple[float, float]:
    """Launch a fresh interpreter, return (seconds to first paint, seconds to model ready)."""
    code = _CHILD.format(root=str(ROOT), data=str(data_dir))
    env = dict(os.environ, XDG_CONFIG_HOME=str(data_dir.parent / "config"))  # leave the user's settings alone
    launched = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    line = next((l for l in out.stdout.splitlines() if l.startswith("PAINT")), None)
    if line is None:
        raise RuntimeError(f"the app did not start:\n{out.stderr[-2000:]}")
    parts = line.split()
    return float(parts[1]) - launched, float(parts[3]) - launched


class TickRecorder:
    """Records the times a short QTimer fires on the UI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stop(self) -> float:
        """The longest stall in ms: the longest gap beyond the timer's own interval."""
        self.timer.stop()
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:])]
        return max(0.0, 1000 * max(gaps) - TICK_MS) if gaps else float("nan")


def wait_until(app, condition, timeout_s: float = 300) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        app.processEvents()
        time.sleep(0.002)


def stalls(data_dir: Path, replies: int) -> dict:
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.prefs import ModelPrefs
    from desktop.worker import EngineConfig
    from engine.api import RuntimeSettings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(EngineConfig(data_dir, settings=RuntimeSettings(n_ctx=2048)), prefs=ModelPrefs(n_ctx=2048),
                        remember=False)
    window.show()
    window.start()
    wait_until(app, lambda: window.history_loaded and bool(window.client.model_name) and not window.client.busy)
    recorder = TickRecorder()
    recorder.start()
    idle_end = time.perf_counter() + 2.0
    wait_until(app, lambda: time.perf_counter() > idle_end)
    idle = recorder.stop()
    results, tokens = [], []
    for i in range(replies):
        recorder.start()
        done = []
        window.turns.finished.connect(lambda d, done=done: done.append(d))
        window.send(PROMPTS[i % len(PROMPTS)])
        wait_until(app, lambda: bool(done))
        results.append(recorder.stop())
        tokens.append(done[0].generated_tokens if done[0] else 0)
    window.close()
    return {"stall_ms_median": round(statistics.median(results), 1), "stall_ms_max": round(max(results), 1),
            "stall_ms_runs": [round(r, 1) for r in results], "idle_baseline_stall_ms": round(idle, 1),
            "tokens_per_reply": tokens}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--replies", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        times = [start_to_window(data) for _ in range(args.starts)]
        result = {
            "start_to_window_s_median": round(statistics.median(t[0] for t in times), 3),
            "start_to_window_s_runs": [round(t[0], 3) for t in times],
            "start_to_model_s_median": round(statistics.median(t[1] for t in times), 3),
            **stalls(data, args.replies),
            "targets": {"stall_ms": 50, "start_to_window_s": 2.0},
        }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
