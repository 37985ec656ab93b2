"""``llmos-desktop``: the desktop window, or the terminal chat where there is no display."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import engine.offline  # noqa: F401
from desktop.platform_check import check_platform
from desktop.window_probe import PROBE_FLAG, run_window_probe, show_probe_window


def has_display() -> bool:
    """True where a window can be shown (always on macOS and Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") == "offscreen")


def parse_args(argv: list[str]) -> argparse.Namespace:
    from engine.api import PAGING_MODES

    parser = argparse.ArgumentParser(prog="llmos-desktop", description="llmos: a chat whose model remembers")
    parser.add_argument("--data-dir", type=Path, default=None, help="where memory lives")
    parser.add_argument("--model", default=None,
                        help="a GGUF file or an embedded model's id (default: the saved choice)")
    parser.add_argument("--n-ctx", type=int, default=None, help="context window in tokens")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--gpu-layers", type=int, default=None, help="layers to offload to the GPU (-1: all)")
    parser.add_argument("--paging", choices=PAGING_MODES, default=None,
                        help="how the KV cache follows a changed window (default: the saved choice)")
    parser.add_argument("--screenshot", type=Path, default=None, help="save a view as PNG and exit")
    parser.add_argument("--view", choices=("chat", "memory", "timeline", "settings"), default="chat",
                        help="which view --screenshot shows")
    parser.add_argument("--size", default="1280x800", help="window size for --screenshot, WxH")
    parser.add_argument("--self-test", action="store_true",
                        help="run one real turn in a temporary data dir, print a summary, exit (no display needed)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if PROBE_FLAG in argv:
        return show_probe_window()
    if "--self-test" in argv:
        return self_test(argv)
    screenshot = "--screenshot" in argv
    if not has_display():
        if not screenshot:
            print("No display found: starting the terminal chat.", file=sys.stderr)
            return terminal_chat(argv)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    elif os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        # Qt aborts the process when its platform plugin cannot load: check first, explain, fall back.
        check = check_platform()
        if not check.ok:
            print(check.advice(), file=sys.stderr)
            if screenshot:
                print("Rendering the screenshot offscreen instead.", file=sys.stderr)
                os.environ["QT_QPA_PLATFORM"] = "offscreen"
            else:
                print("Starting the terminal chat instead.", file=sys.stderr)
                return terminal_chat(argv)
    return run_app(argv)


def terminal_chat(argv: list[str]) -> int:
    """The CLI's chat on the same data and model options: llmos without a window."""
    from engine.cli import main as cli_main

    return cli_main(["chat", *argv])


def self_test(argv: list[str]) -> int:
    """Check the install (or the bundle) end to end; see engine.selftest. The desktop adds its
    platform check and, where a display is there, a real window."""
    from engine.selftest import run_self_test

    args = parse_args(argv)
    return run_self_test(sys.stdout, model_path=args.model, n_ctx=args.n_ctx or 2048,
                         extra_steps=[("desktop platform", platform_step), ("window", window_step)])


def platform_step() -> str:
    """Fails only where a display is there and the platform cannot use it."""
    check = check_platform()
    if not check.ok and has_display():
        raise RuntimeError(check.install_hint())
    return check.summary() + ("" if has_display() else " (no display here)")


def window_step() -> str:
    if not has_display() or os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return "skipped: no display"
    return run_window_probe()


def run_app(argv: list[str]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.prefs import load_model_prefs, settings_store
    from desktop.worker import EngineConfig

    args = parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("llmos")
    app.setOrganizationName("llmos")
    prefs = _with_overrides(load_model_prefs(settings_store()), args)
    screenshot = args.screenshot is not None
    window = MainWindow(EngineConfig(args.data_dir, settings=prefs.runtime_settings()),
                        prefs=prefs, remember=not screenshot)
    if screenshot:
        from desktop.screenshot import Screenshotter

        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
        Screenshotter(window, args.view, args.screenshot)
    window.show()
    QTimer.singleShot(0, window.start)
    return app.exec()


def _with_overrides(prefs, args: argparse.Namespace):
    from dataclasses import replace

    from desktop.prefs import model_choice

    changes = {k: v for k, v in (("model_path", model_choice(args.model)), ("n_ctx", args.n_ctx),
                                 ("n_threads", args.threads), ("n_gpu_layers", args.gpu_layers),
                                 ("paging_mode", args.paging)) if v is not None}
    return replace(prefs, **changes)


if __name__ == "__main__":
    sys.exit(main())
