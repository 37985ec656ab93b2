"""Test hook: a real SIGKILL at a named point, so crash recovery is tested against real kills.

``LLMOS_CRASH_AT=<point>:<n>`` makes the process kill itself with SIGKILL the ``n``-th time it
passes ``crash_point(<point>)``: no cleanup, no flush, exactly what a power cut or the OOM killer
does to the process. The reliability suite (``tests/reliability``) sets it; in normal use it is
unset and a crash point costs one comparison. Points: ``append``, ``generation``, ``eviction``,
``summary``, ``core_edit``, ``archival_insert``, ``index_save``, ``kv_save``.
"""

from __future__ import annotations

import os
import signal

ENV = "LLMOS_CRASH_AT"


def _target() -> tuple[str, int] | None:
    name, _, count = os.environ.get(ENV, "").partition(":")
    return (name, int(count or 1)) if name else None


_TARGET = _target()
_passed = 0


def crash_point(name: str) -> None:
    """Kill this process here if ``LLMOS_CRASH_AT`` names this point and its count is reached."""
    global _passed
    if _TARGET is None or _TARGET[0] != name:
        return
    _passed += 1
    if _passed >= _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
