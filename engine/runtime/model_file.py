"""Find the model file to run: an embedded model (assembled once) or a user's GGUF.

Embedded models ship as PyPI packages (see embedded_models); the first run joins a model's parts
into the user cache dir and checks its sha256, so later runs start at once. A model shipped as
one GGUF inside its package is checked once and used in place.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError
from engine.joined_parts import ProgressFn, assemble_parts, copy_hashing
from engine.paths import default_cache_dir
from engine.resources import bundled_model_file
from engine.runtime.embedded_models import (DEFAULT_EMBEDDED, EmbeddedModel, chosen_when_unset, embedded_model,
                                            find_embedded)
from engine.runtime.gguf_header import GGUFHeader, read_gguf_header

log = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = DEFAULT_EMBEDDED.file_name
"""The file name of the default embedded model (the one a desktop bundle carries)."""


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file that passed the header checks."""

    path: Path
    header: GGUFHeader
    embedded: bool

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def default_model_choice() -> str | None:
    """The model used when none is chosen: ``LLMOS_MODEL`` if set, else None (the default embedded model)."""
    return chosen_when_unset()


def default_embedded_model() -> EmbeddedModel:
    """The embedded model used when none is chosen."""
    return find_embedded(default_model_choice()) or DEFAULT_EMBEDDED


def embedded_model_path(cache_dir: Path | None = None, model: EmbeddedModel | None = None) -> Path:
    """Where an embedded model lies: inside a frozen bundle, in its package, or assembled in the cache."""
    model = model or default_embedded_model()
    inside = bundled_model_file(model.file_name)
    if inside is not None:
        return inside
    if not model.joined:
        return model.part_paths()[0]
    return (cache_dir or default_cache_dir()) / "models" / model.file_name


def is_ready(model: EmbeddedModel, cache_dir: Path | None = None) -> bool:
    """True when the model was assembled and checked (or a bundle carries it), so loading it starts at once."""
    inside = bundled_model_file(model.file_name)
    if inside is not None:
        return inside.is_file()
    try:
        target = embedded_model_path(cache_dir, model)
    except ModelFileError:
        return False
    stamp = _stamp_file(model, cache_dir)
    return target.is_file() and stamp.is_file() and stamp.read_text() == _stamp_for(target)


def ensure_embedded_model(cache_dir: Path | None = None, progress: ProgressFn | None = None,
                          model: EmbeddedModel | str | None = None) -> Path:
    """Assemble an embedded model into the cache once (the default one unless named); verify it; return its path.

    A bundle carries the default model assembled and checked at build time, so it is used in place.
    """
    model = embedded_model(model) if isinstance(model, str) else (model or default_embedded_model())
    inside = bundled_model_file(model.file_name)
    if inside is not None:
        if not inside.is_file():
            raise ModelFileError(f"{model.name} is not part of this bundle ({inside}); reinstall llmos")
        return inside
    if is_ready(model, cache_dir):
        return embedded_model_path(cache_dir, model)
    parts = model.part_paths()
    if model.joined:
        target = embedded_model_path(cache_dir, model)
        assemble_parts(parts, target, model.sha256, f"Preparing {model.name}", progress)
    else:
        target = parts[0]
        _verify(target, model.sha256, f"Checking {model.name}", progress)
    stamp = _stamp_file(model, cache_dir)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(_stamp_for(target))
    return target


def _stamp_file(model: EmbeddedModel, cache_dir: Path | None) -> Path:
    return (cache_dir or default_cache_dir()) / "models" / (model.file_name + ".verified")


def _stamp_for(path: Path) -> str:
    stat = path.stat()
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _verify(path: Path, expected_sha256: str, stage: str, progress: ProgressFn | None) -> None:
    if copy_hashing([path], None, stage, progress) != expected_sha256:
        raise ModelFileError(f"{path}: the embedded model failed its checksum; reinstall llmos")


def resolve_model(model_path: Path | str | None, cache_dir: Path | None = None,
                  progress: ProgressFn | None = None) -> ModelFile:
    """The model to load: ``model_path`` (a GGUF file or an embedded model's id), else the default."""
    choice = model_path if model_path is not None else default_model_choice()
    embedded = find_embedded(choice) if choice is not None else DEFAULT_EMBEDDED
    if embedded is not None:
        path = ensure_embedded_model(cache_dir, progress, embedded)
        return ModelFile(path, read_gguf_header(path), embedded=True)
    path = Path(choice).expanduser()
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
