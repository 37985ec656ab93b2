"""``llmos-desktop``: the desktop window, or the terminal chat where there is no display."""

from __future__ import annotations

import os
import sys

import engine.offline  # noqa: F401


def has_display() -> bool:
    """True where a window can be shown (always on macOS and Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") == "offscreen")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not has_display() and "--screenshot" not in argv:
        from engine.cli import main as cli_main

        print("No display found: starting the terminal chat.", file=sys.stderr)
        return cli_main(["chat", *argv])
    from desktop.main_window import run_window

    return run_window(argv)


if __name__ == "__main__":
    sys.exit(main())
