"""HTTP to an inference server: JSON calls and server-sent event streams.

Every way a server can fail (nothing listening, a refused key, a 5xx, silence past the timeout,
a connection cut mid-reply, a base URL that is not a server) becomes one
:class:`~engine.errors.InferenceServerError` whose message is one readable line. Nothing else
in llmos sees an ``httpx`` exception.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

import httpx

from engine.errors import (ServerAuthError, ServerReplyError, ServerTimeoutError, ServerUnreachableError,
                           ServerUrlError)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
MISSING = (404, 405)
"""Statuses that mean "this server has no such endpoint": a probe moves on to the next kind."""


def base_url(url: str) -> str:
    """``url`` without a trailing slash or ``/v1`` (users paste either); raises :class:`ServerUrlError`."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerUrlError(f"{url!r} is not a server address; write it as http://HOST:PORT")
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


class ServerConnection:
    """One HTTP client for one server; ``api_key`` goes as a bearer token on every request."""

    def __init__(self, url: str, api_key: str | None, timeout_s: float) -> None:
        self.url, self.has_key, self.timeout_s = base_url(url), api_key is not None, timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def get(self, path: str, missing_ok: bool = False) -> dict | None:
        """The JSON a GET returns; None for a missing endpoint when ``missing_ok``."""
        return self._json("GET", path, None, missing_ok)

    def post(self, path: str, body: dict, missing_ok: bool = False) -> dict | None:
        """The JSON a POST returns; None for a missing endpoint when ``missing_ok``."""
        return self._json("POST", path, body, missing_ok)

    def events(self, path: str, body: dict) -> Iterator[dict]:
        """The JSON events a streamed POST sends, until ``[DONE]`` or the stream ends.

        Closing the iterator closes the connection, which is how a reply is cancelled: the
        servers stop generating when their client goes away.
        """
        with self.failures(path), self.client.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                self._raise_for(response, path)
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": ping" comments, "event:" names
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return
                yield self._decoded(data, path)

    def close(self) -> None:
        self.client.close()

    # -- failures ---------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: dict | None, missing_ok: bool) -> dict | None:
        with self.failures(path):
            response = self.client.request(method, path, json=body)
        if missing_ok and response.status_code in MISSING:
            return None
        if response.status_code >= 400:
            self._raise_for(response, path)
        return self._decoded(response.text, path)

    def _decoded(self, text: str, path: str) -> dict:
        try:
            value = json.loads(text)
        except ValueError:
            raise ServerReplyError(f"{self.url}{path} answered with something that is not JSON: "
                                   f"{_short(text)!r}; is {self.url} an inference server?") from None
        if not isinstance(value, dict):
            raise ServerReplyError(f"{self.url}{path} answered {_short(text)!r}, not a JSON object")
        return value

    @contextmanager
    def failures(self, path: str) -> Iterator[None]:
        """Turn the transport's exceptions into one-line InferenceServerErrors."""
        try:
            yield
        except httpx.TimeoutException as exc:
            what = "connect" if isinstance(exc, httpx.ConnectTimeout) else "send the next part of its reply"
            raise ServerTimeoutError(f"the inference server at {self.url} did not {what} within "
                                     f"{self.timeout_s:g} s; it may be busy or stuck (the timeout is a "
                                     "setting)") from exc
        except httpx.ConnectError as exc:
            raise ServerUnreachableError(f"nothing answers at {self.url} ({_reason(exc)}); is the inference "
                                         "server running?") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ServerUnreachableError(f"the connection to the inference server at {self.url} broke off "
                                         f"({_reason(exc)}); the server may have stopped") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ServerUrlError(f"{self.url} is not a usable server address ({_reason(exc)})") from exc

    def _raise_for(self, response: httpx.Response, path: str) -> None:
        status, detail = response.status_code, _detail(response)
        if status in (401, 403):
            hint = "" if self.has_key else "; none was sent: name the variable that holds it (--api-key-env)"
            raise ServerAuthError(f"the inference server at {self.url} refused the API key ({status}{hint})")
        if status == 404:
            raise ServerUrlError(f"{self.url}{path} does not exist (404): is {self.url} the server's base "
                                 "address, and the model name one it serves?")
        raise ServerReplyError(f"the inference server at {self.url} answered {status} to {path}"
                               + (f": {detail}" if detail else ""))


def _detail(response: httpx.Response) -> str:
    """The error message a server put in its body (OpenAI's ``error.message`` or FastAPI's ``detail``)."""
    try:
        body = response.json()
    except ValueError:
        return _short(response.text)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return _short(str(error.get("message", "")))
    return _short(str(error or (body.get("detail", "") if isinstance(body, dict) else body)))


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return _short(text[-1]) if text else type(exc).__name__


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
