"""The main window."""

from __future__ import annotations

import sys


def run_window(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([sys.argv[0], *argv])
    label = QLabel("llmos")
    label.resize(480, 320)
    label.show()
    return app.exec()
