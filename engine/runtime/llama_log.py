"""llama.cpp's own log lines, sent to Python ``logging`` instead of the terminal.

llama-cpp-python installs a log callback (``llama_log_set``) that prints to stderr, and its table
of ggml levels predates ggml's current numbering (NONE, DEBUG, INFO, WARN, ERROR, CONT), so notes
such as "llama_kv_cache_iswa: using full-size SWA cache" pass its ``verbose=False`` filter. This
module replaces that callback with one that hands each line to the ``llama.cpp`` logger.

Everything llama.cpp says goes at most to INFO: a load that fails raises in Python and the engine
reports it as its own error, so its warnings are notes on its internals, for ``llmos -v``.
"""

from __future__ import annotations

import ctypes
import logging
import threading

log = logging.getLogger("llama.cpp")

GGML_LOG_LEVEL_CONT = 5
"""ggml's level for a piece that continues the previous line."""

_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.INFO}
"""ggml_log_level (NONE, DEBUG, INFO, WARN, ERROR) to the level of the Python record."""

_lock = threading.Lock()
_pending = {"text": "", "level": logging.DEBUG}
_callback = None  # the installed ctypes callback; kept referenced so it is never freed


def route_llama_log() -> None:
    """Send llama.cpp's log to the ``llama.cpp`` logger from now on (idempotent)."""
    global _callback
    if _callback is not None:
        return
    import llama_cpp
    import llama_cpp._logger  # noqa: F401  (installs its printing callback first; ours replaces it)

    _callback = llama_cpp.llama_log_callback(_on_log)
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


def _on_log(level: int, text: bytes, _user_data) -> None:
    """Gather pieces into whole lines; log each line when it ends or a new message begins."""
    piece = text.decode("utf-8", errors="replace")
    with _lock:
        lines = []
        if level != GGML_LOG_LEVEL_CONT:
            lines.append((_pending["level"], _pending["text"]))
            _pending["level"], _pending["text"] = _LEVELS.get(level, logging.DEBUG), ""
        _pending["text"] += piece
        if _pending["text"].endswith("\n"):
            lines.append((_pending["level"], _pending["text"]))
            _pending["text"] = ""
    for line_level, line in lines:
        if line.strip():
            log.log(line_level, "%s", line.rstrip())
