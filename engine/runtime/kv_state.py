"""Saved KV-cache states on disk, so a restart resumes the conversation without a re-prefill.

A file is named by the model fingerprint and a hash of the cached tokens; it holds a header
(both again, with checksums), the tokens, and the cells. Anything that does not check out
(another model, a truncated or altered file) is ignored with a log line: a wrong cache would
silently corrupt every answer, a missing one only costs one prefill. A window that differs from
the saved tokens reuses the cells up to where they differ, and the pager evaluates the rest.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

from engine.crash_points import crash_point

log = logging.getLogger(__name__)

MAGIC = b"LLMOSKV\x03"
"""Version 3: the whole context's state (every sliding-window cell kept), tokens beside it."""
SUFFIX = ".kvstate"
MIN_SHARED_TOKENS = 64
"""A saved state is loaded only when at least this many of its tokens can be kept for the window:
below that, evaluating them costs less than reading the file."""


def tokens_digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(array("i", tokens).tobytes()).hexdigest()


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class SavedState:
    """A state read back: the tokens it holds, its cells, and how many of them can be kept."""

    tokens: tuple[int, ...]
    blob: bytes
    shared: int
    """How many of its tokens can be kept for the asked-for ones."""


class KVStateStore:
    """One directory of saved states for one model; keeps the newest ``keep`` files.

    A file holds its tokens beside the cells, so a window that changed since the save (a
    different recalled part, a new message) still reuses the state up to where it differs.
    """

    def __init__(self, directory: Path, fingerprint: str, keep: int = 2) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.keep = keep

    def path_for(self, tokens: Sequence[int]) -> Path:
        return self.directory / f"{self.fingerprint[:16]}-{tokens_digest(tokens)[:24]}{SUFFIX}"

    def write(self, tokens: Sequence[int], blob: bytes) -> Path:
        """Write atomically (temp file, fsync, ``os.replace``), then prune older states."""
        header = json.dumps({"fingerprint": self.fingerprint, "tokens_sha256": tokens_digest(tokens),
                             "n_tokens": len(tokens), "state_sha256": hashlib.sha256(blob).hexdigest(),
                             "state_bytes": len(blob)}).encode()
        path = self.path_for(tokens)
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.partial")
        with temp.open("wb") as out:
            out.write(MAGIC + struct.pack("<I", len(header)) + header + array("i", tokens).tobytes())
            out.write(blob[: len(blob) // 2])
            out.flush()
            crash_point("kv_save")
            out.write(blob[len(blob) // 2:])
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        self._prune(keep_path=path)
        return path

    def closest(self, tokens: Sequence[int],
                reusable: Callable[[tuple[int, ...]], int] | None = None) -> SavedState | None:
        """The saved state of which most can be kept for ``tokens`` (at least
        :data:`MIN_SHARED_TOKENS`), checked whole; None (logged) when none is usable.

        ``reusable(saved_tokens)`` says how many tokens of a state a sync would keep; by default
        the start it shares with ``tokens``.
        """
        reusable = reusable or (lambda saved: shared_prefix(saved, tokens))
        best: tuple[int, Path] | None = None
        for path in self._files():
            try:
                shared = reusable(self._tokens_of(path))
            except (OSError, ValueError, KeyError, struct.error) as exc:
                log.warning("ignoring saved KV state %s: %s", path.name, exc)
                continue
            if shared >= MIN_SHARED_TOKENS and (best is None or shared > best[0]):
                best = (shared, path)
        if best is None:
            log.info("no saved KV state holds enough of this window")
            return None
        try:
            saved_tokens, blob = self._checked(best[1].read_bytes())
        except (OSError, ValueError, KeyError, struct.error) as exc:
            log.warning("ignoring saved KV state %s: %s", best[1].name, exc)
            return None
        return SavedState(saved_tokens, blob, best[0])

    def _files(self) -> list[Path]:
        """This model's states, newest first."""
        return sorted(self.directory.glob(f"{self.fingerprint[:16]}-*{SUFFIX}"), key=_mtime, reverse=True)

    def _tokens_of(self, path: Path) -> tuple[int, ...]:
        """The tokens a file holds, read without its cells."""
        with path.open("rb") as handle:
            return self._header_and_tokens(handle)[1]

    def _header_and_tokens(self, handle: BinaryIO) -> tuple[dict, tuple[int, ...]]:
        """Read a file's header and tokens from its start; the cells are what follows."""
        start = handle.read(len(MAGIC) + 4)
        if not start.startswith(MAGIC):
            raise ValueError("not a KV state file of this version")
        (size,) = struct.unpack_from("<I", start, len(MAGIC))
        header = json.loads(handle.read(size))
        if header["fingerprint"] != self.fingerprint:
            raise ValueError("saved for another model file")
        data = handle.read(4 * header["n_tokens"])
        if len(data) != 4 * header["n_tokens"]:
            raise ValueError("state bytes are truncated or altered")
        return header, tuple(array("i", data))

    def _checked(self, data: bytes) -> tuple[tuple[int, ...], bytes]:
        handle = io.BytesIO(data)
        header, tokens = self._header_and_tokens(handle)
        blob = handle.read()
        if header["tokens_sha256"] != tokens_digest(tokens):
            raise ValueError("state bytes are truncated or altered")
        if header["state_bytes"] != len(blob) or header["state_sha256"] != hashlib.sha256(blob).hexdigest():
            raise ValueError("state bytes are truncated or altered")
        return tokens, blob

    def _prune(self, keep_path: Path) -> None:
        """Keep the newest states; drop temp files of processes that died mid-write."""
        for partial in self.directory.glob(f"{self.fingerprint[:16]}-*.partial"):
            if not _alive(partial.suffixes[-2].lstrip(".")):
                partial.unlink(missing_ok=True)
        for old in [p for p in self._files() if p != keep_path][max(0, self.keep - 1):]:
            old.unlink(missing_ok=True)


def _mtime(path: Path) -> int:
    """A file's modification time, 0 when it went away meanwhile (another process pruned it)."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
