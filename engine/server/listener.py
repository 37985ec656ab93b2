"""The listening socket and the server thread, shared by ``llmos serve`` and the app's toggle."""

from __future__ import annotations

import socket
import threading

from engine.errors import InputError


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket; a port in use or a bad address is one clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.listen(128)
    return listener


def address(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def uvicorn_server(app):
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5, lifespan="off"))


class BackgroundServer:
    """The API served from a daemon thread while a window runs (the app's settings toggle)."""

    def __init__(self, worker, data_dir, host: str = "127.0.0.1", port: int = 8747) -> None:
        from engine.server.access import load_or_create_token
        from engine.server.app import build_app

        self.listener = listen(host, port)
        self.url = address(self.listener)
        self.server = uvicorn_server(build_app(worker, load_or_create_token(data_dir)))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.listener]},
                                       name="llmos-api", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.listener.close()
