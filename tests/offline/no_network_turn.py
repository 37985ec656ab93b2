"""Run one full memory turn with every socket call failing loudly; print what was attempted.

Started as its own interpreter by the offline tests, so the guard is in place before any
library (the engine, sentence-transformers, llama.cpp, DuckDB) is imported.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
from pathlib import Path

ATTEMPTS: list[str] = []


def _refuse(name: str):
    def refuse(*args, **kwargs):
        ATTEMPTS.append(f"{name}{args[1:2] if name.startswith('socket.') else args[:1]}")
        raise OSError(f"network access attempted: {name}")
    return refuse


socket.socket.connect = _refuse("socket.connect")
socket.socket.connect_ex = _refuse("socket.connect_ex")
socket.socket.sendto = _refuse("socket.sendto")
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
socket.gethostbyname = _refuse("gethostbyname")


def main() -> int:
    from engine.api import Engine
    from engine.events import DoneEvent
    from engine.runtime.settings import RuntimeSettings

    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Path(tmp) / "data", RuntimeSettings(n_ctx=1024))
        try:
            engine.load_model()
            events = list(engine.send("Hello! My name is Ada and I keep bees."))
            engine.insert_passage("Ada's hives are on the roof of the library.")
            found = engine.search("where are the hives?", tier="archival")
            report = {"attempts": ATTEMPTS, "done": any(isinstance(e, DoneEvent) for e in events),
                      "archival_hits": len(found.items)}
        finally:
            engine.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
