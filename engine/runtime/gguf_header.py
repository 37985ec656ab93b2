"""Read a GGUF file's header without loading it, so bad files get a clear error.

llama.cpp answers a wrong file with a bare "failed to load model"; reading the header first lets
us say *what* is wrong: not GGUF at all, cut short, or an architecture we cannot run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from engine.errors import ModelFileError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# GGUF metadata value types
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# ggml type id -> (block size in elements, bytes per block); enough for common quantisations.
_GGML_TYPE_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
    28: (1, 8), 30: (1, 2),
}


@dataclass(frozen=True)
class GGUFHeader:
    """What llmos needs to know about a model file before handing it to llama.cpp."""

    version: int
    architecture: str
    name: str
    chat_template: str | None
    context_length: int | None
    file_type: int | None
    tensor_count: int
    data_end: int | None  # bytes the tensor data needs; None when a tensor type is unknown
    metadata: dict = field(repr=False, default_factory=dict)


class _Reader:
    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle = handle
        self.path = path

    def read(self, size: int) -> bytes:
        data = self.handle.read(size)
        if len(data) != size:
            raise ModelFileError(f"{self.path}: the file is truncated (its GGUF header ends early)")
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        length = self.unpack("<Q")
        if length > 1 << 30:
            raise ModelFileError(f"{self.path}: the GGUF header is corrupt (string of {length} bytes)")
        return self.read(length).decode("utf-8", errors="replace")

    def value(self, kind: int):
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = self.unpack("<I"), self.unpack("<Q")
            if count > 1 << 28:
                raise ModelFileError(f"{self.path}: the GGUF header is corrupt (array of {count})")
            return [self.value(item_kind) for _ in range(count)]
        raise ModelFileError(f"{self.path}: the GGUF header is corrupt (value type {kind})")


def read_gguf_header(path: Path) -> GGUFHeader:
    """Parse the header of ``path``; raise :class:`ModelFileError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such model file")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a file")
    try:
        with path.open("rb") as handle:
            return _parse(_Reader(handle, path), path.stat().st_size)
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read the model file ({exc.strerror})") from exc


def _parse(reader: _Reader, file_size: int) -> GGUFHeader:
    path = reader.path
    magic = reader.handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"{path}: not a GGUF model file (llmos runs GGUF models for llama.cpp)")
    version = reader.unpack("<I")
    if version not in (2, 3):
        raise ModelFileError(f"{path}: GGUF version {version} is not supported")
    tensor_count, kv_count = reader.unpack("<Q"), reader.unpack("<Q")
    metadata = {}
    for _ in range(kv_count):
        key = reader.string()
        metadata[key] = reader.value(reader.unpack("<I"))
    arch = str(metadata.get("general.architecture", ""))
    if not arch:
        raise ModelFileError(f"{path}: the GGUF file names no architecture")
    data_end = _tensor_data_end(reader, tensor_count, metadata)
    if data_end is not None and data_end > file_size:
        raise ModelFileError(
            f"{path}: the file is truncated ({file_size:,} bytes, its tensors need {data_end:,})"
        )
    return GGUFHeader(
        version=version,
        architecture=arch,
        name=str(metadata.get("general.name", path.stem)),
        chat_template=metadata.get("tokenizer.chat_template"),
        context_length=metadata.get(f"{arch}.context_length"),
        file_type=metadata.get("general.file_type"),
        tensor_count=tensor_count,
        data_end=data_end,
        metadata={k: v for k, v in metadata.items() if not isinstance(v, list)},
    )


def _tensor_data_end(reader: _Reader, tensor_count: int, metadata: dict) -> int | None:
    """Bytes from the file start to the end of the last tensor's data (None if unknowable)."""
    end_in_data, known = 0, True
    for _ in range(tensor_count):
        reader.string()
        n_dims = reader.unpack("<I")
        dims = [reader.unpack("<Q") for _ in range(n_dims)]
        ggml_type, offset = reader.unpack("<I"), reader.unpack("<Q")
        size = _tensor_bytes(ggml_type, dims)
        if size is None:
            known = False
        else:
            end_in_data = max(end_in_data, offset + size)
    position = reader.handle.tell()
    if not known or end_in_data == 0:
        return position if known else None
    alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT))
    data_start = (position + alignment - 1) // alignment * alignment
    return data_start + end_in_data


def _tensor_bytes(ggml_type: int, dims: list[int]) -> int | None:
    if ggml_type not in _GGML_TYPE_SIZES:
        return None
    block, block_bytes = _GGML_TYPE_SIZES[ggml_type]
    elements = 1
    for dim in dims:
        elements *= dim
    return elements // block * block_bytes
