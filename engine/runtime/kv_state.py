"""Saved KV-cache states on disk, so a restart resumes the conversation without a re-prefill.

A file is named by the model fingerprint and a hash of the cached tokens, and its header repeats
both with a checksum of the state bytes. Anything that does not match exactly (another model,
other tokens, a truncated or altered file) is ignored with a log line: a wrong cache would
silently corrupt every answer, a missing one only costs one prefill.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from array import array
from pathlib import Path
from typing import Sequence

from engine.crash_points import crash_point

log = logging.getLogger(__name__)

MAGIC = b"LLMOSKV\x01"
SUFFIX = ".kvstate"


def tokens_digest(tokens: Sequence[int]) -> str:
    return hashlib.sha256(array("i", tokens).tobytes()).hexdigest()


class KVStateStore:
    """One directory of saved states for one model; keeps the newest ``keep`` files."""

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
            out.write(MAGIC + struct.pack("<I", len(header)) + header)
            out.write(blob[: len(blob) // 2])
            out.flush()
            crash_point("kv_save")
            out.write(blob[len(blob) // 2:])
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
        self._prune(keep_path=path)
        return path

    def read(self, tokens: Sequence[int]) -> bytes | None:
        """The saved state for exactly these tokens, or None (logged) when missing or untrustworthy."""
        path = self.path_for(tokens)
        if not path.exists():
            log.info("no saved KV state for these segments (%s)", path.name)
            return None
        try:
            return self._checked(path.read_bytes(), tokens)
        except (OSError, ValueError, KeyError, struct.error) as exc:
            log.warning("ignoring saved KV state %s: %s", path.name, exc)
            return None

    def _checked(self, data: bytes, tokens: Sequence[int]) -> bytes:
        if not data.startswith(MAGIC):
            raise ValueError("not a KV state file")
        (size,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(data[start:start + size])
        blob = data[start + size:]
        if header["fingerprint"] != self.fingerprint:
            raise ValueError("saved for another model file")
        if header["tokens_sha256"] != tokens_digest(tokens) or header["n_tokens"] != len(tokens):
            raise ValueError("saved for other tokens (stale)")
        if header["state_bytes"] != len(blob) or header["state_sha256"] != hashlib.sha256(blob).hexdigest():
            raise ValueError("state bytes are truncated or altered")
        return blob

    def _prune(self, keep_path: Path) -> None:
        """Keep the newest states; drop temp files of processes that died mid-write."""
        for partial in self.directory.glob(f"{self.fingerprint[:16]}-*.partial"):
            if not _alive(partial.suffixes[-2].lstrip(".")):
                partial.unlink(missing_ok=True)
        mine = sorted(self.directory.glob(f"{self.fingerprint[:16]}-*{SUFFIX}"),
                      key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in [p for p in mine if p != keep_path][max(0, self.keep - 1):]:
            old.unlink(missing_ok=True)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
