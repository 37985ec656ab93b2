"""Who may talk to the server: a bearer token, and a Host header that names this machine.

The token is made at first start and kept in the data folder (readable by its owner only), so
only programs of the user who can read it get in. The Host check defeats DNS rebinding: a web
page whose name resolves to 127.0.0.1 still sends its own name as Host and is refused.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from engine.server.errors import error_response

TOKEN_FILE = "server-token"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def load_or_create_token(data_dir: Path) -> str:
    """The data folder's token, made (owner-only) the first time."""
    path = Path(data_dir) / TOKEN_FILE
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "llmos-" + secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token


def host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class AccessGuard:
    """ASGI middleware: refuse a foreign Host (403) or a missing or wrong token (401) before routing."""

    def __init__(self, app, token: str, allowed_hosts: frozenset[str] = frozenset()) -> None:
        self.app, self.token = app, token
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)  # CORS preflights carry no credentials by design
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        name = host_name(headers.get("host", ""))
        if not (is_loopback(name) or name in self.allowed_hosts):
            refusal = error_response(403, f"requests for host {name!r} are refused: this server answers "
                                          "only to its loopback names", code="host_not_allowed")
            await refusal(scope, receive, send)
            return
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), self.token.encode()):
            refusal = error_response(401, "missing or wrong API key: pass the token that `llmos serve "
                                          "--show-token` prints as the Bearer token", code="invalid_api_key")
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
