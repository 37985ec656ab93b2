"""What models are available: the embedded default and the GGUF files in the models folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError
from engine.runtime.gguf_header import read_gguf_header
from engine.runtime.model_file import embedded_model_path

# llama.cpp's general.file_type values, for the quantisation column
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 32: "BF16",
}


@dataclass(frozen=True)
class ModelEntry:
    """One model a user can pick."""

    name: str
    path: Path | None  # None: the embedded default, assembled on first use
    size_bytes: int
    architecture: str
    quantisation: str
    context_length: int | None
    embedded: bool = False
    problem: str = ""  # why the file cannot be used, if it cannot


def embedded_entry(cache_dir: Path | None = None) -> ModelEntry:
    path = embedded_model_path(cache_dir)
    size = path.stat().st_size if path.exists() else 253_113_024
    return ModelEntry("Gemma 3 270M (embedded)", None, size, "gemma3", "Q4_K_M", 32768, embedded=True)


def scan_models_dir(folder: Path) -> list[ModelEntry]:
    """Every ``*.gguf`` in ``folder`` (not recursive), unusable ones with their problem."""
    if not folder.is_dir():
        return []
    return [_entry_for(path) for path in sorted(folder.glob("*.gguf"))]


def _entry_for(path: Path) -> ModelEntry:
    try:
        header = read_gguf_header(path)
    except ModelFileError as exc:
        return ModelEntry(path.stem, path, _size(path), "?", "?", None, problem=str(exc))
    quant = FILE_TYPES.get(header.file_type, "?") if header.file_type is not None else "?"
    return ModelEntry(header.name, path, _size(path), header.architecture, quant, header.context_length)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
