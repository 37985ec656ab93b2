"""What models are available: the embedded models and the GGUF files in the models folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelFileError
from engine.resources import bundled_model_file
from engine.runtime.embedded_models import EMBEDDED_MODELS, EmbeddedModel
from engine.runtime.gguf_header import read_gguf_header
from engine.runtime.model_file import default_embedded_model, default_model_choice, embedded_model_path, is_ready

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
    path: Path | None  # an embedded model's file once assembled, else None
    size_bytes: int
    architecture: str
    quantisation: str
    context_length: int | None
    embedded: bool = False
    problem: str = ""  # why the file cannot be used, if it cannot
    id: str = ""  # an embedded model's id (what --model and the settings store), else ""
    purpose: str = ""  # what an embedded model is for: its memory and speed
    default: bool = False  # the model used when none is chosen

    @property
    def choice(self) -> str | None:
        """What to pass as ``RuntimeSettings.model_path`` to run this model."""
        return self.id if self.embedded else (str(self.path) if self.path else None)


def embedded_entries(cache_dir: Path | None = None) -> list[ModelEntry]:
    """Every embedded model, the default one marked, with its path once it is assembled."""
    default = default_embedded_model() if _default_is_embedded() else None
    return [_embedded_entry(model, cache_dir, model is default) for model in EMBEDDED_MODELS]


def _default_is_embedded() -> bool:
    from engine.runtime.embedded_models import find_embedded

    choice = default_model_choice()
    return choice is None or find_embedded(choice) is not None


def _embedded_entry(model: EmbeddedModel, cache_dir: Path | None, default: bool) -> ModelEntry:
    ready = is_ready(model, cache_dir)
    path = embedded_model_path(cache_dir, model) if ready else None
    problem = "" if ready or bundled_model_file(model.file_name) is None else "not part of this bundle"
    return ModelEntry(f"{model.name} (embedded)", path, model.size_bytes, model.architecture, model.quantisation,
                      model.context_length, embedded=True, problem=problem, id=model.id, purpose=model.purpose,
                      default=default)


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
