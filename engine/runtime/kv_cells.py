"""A sequence's KV cells as llama.cpp serialises them, cut and joined by position.

llama.cpp refuses to decode a token at a position below the sequence's last one ("the sequence
positions must remain consecutive"), so a changed segment in the middle of the window cannot be
evaluated in place. With one sequence per context the only way to put cells back after a gap is
the sequence state itself: save it (``llama_state_seq_get_data``), keep the cells after the gap,
evaluate the gap, and load the joined cells (``llama_state_seq_set_data``).

The layout read here (per cache; an interleaved sliding-window model has two, full then SWA):
``n_stream u32 | cell_count u32 | cells (pos i32, n_seq u32, seq i32 * n_seq) | v_trans u32 |
n_layer u32 | per layer: k_type i32, k_row u64, rows | per layer: V rows, or when transposed
v_type i32, v_el u32, n_embd u32, n_embd runs of cell_count elements``, after an 8-byte header.
Anything else raises :class:`CellFormatError`; callers then re-evaluate instead.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

_HEADER_BYTES = 8
_CELL = np.dtype([("pos", "<i4"), ("n_seq", "<u4"), ("seq", "<i4")])


class CellFormatError(ValueError):
    """The serialised sequence state has a layout this module does not know."""


@dataclass(frozen=True)
class LayerRows:
    """One layer's K or V data for the cells, with the per-layer header bytes kept verbatim."""

    header: bytes
    data: np.ndarray  # (cells, row_bytes), or (n_embd, cells, el_bytes) for transposed V


@dataclass(frozen=True)
class CacheCells:
    """The cells of one KV cache (the full one, or the sliding-window one)."""

    pos: np.ndarray
    v_trans: int
    k: tuple[LayerRows, ...]
    v: tuple[LayerRows, ...]

    def select(self, mask: np.ndarray) -> "CacheCells":
        axis = 1 if self.v_trans else 0
        return CacheCells(self.pos[mask], self.v_trans,
                          tuple(LayerRows(r.header, r.data[mask]) for r in self.k),
                          tuple(LayerRows(r.header, np.compress(mask, r.data, axis=axis)) for r in self.v))

    def join(self, other: "CacheCells") -> "CacheCells":
        if not self.k:
            return other
        if not other.k:
            return self
        if self.v_trans != other.v_trans or len(self.k) != len(other.k):
            raise CellFormatError("cannot join cells of differently shaped caches")
        axis = 1 if self.v_trans else 0
        return CacheCells(np.concatenate([self.pos, other.pos]), self.v_trans,
                          _join_layers(self.k, other.k, 0), _join_layers(self.v, other.v, axis))

    def to_bytes(self) -> bytes:
        cells = np.zeros(len(self.pos), dtype=_CELL)
        cells["pos"], cells["n_seq"], cells["seq"] = self.pos, 1, 0
        parts = [struct.pack("<II", 1, len(self.pos))]
        if len(self.pos):
            parts += [cells.tobytes(), struct.pack("<II", self.v_trans, len(self.k))]
            parts += [r.header + r.data.tobytes() for r in self.k + self.v]
        return b"".join(parts)


@dataclass(frozen=True)
class SequenceCells:
    """All caches of one sequence; positions are the cells' positions after any applied shift."""

    header: bytes
    caches: tuple[CacheCells, ...]

    @classmethod
    def parse(cls, blob: bytes) -> "SequenceCells":
        reader = _Reader(blob)
        header = reader.take(_HEADER_BYTES)
        caches = []
        while not reader.done:
            caches.append(_read_cache(reader))
        if not caches:
            raise CellFormatError("sequence state holds no cache")
        return cls(header, tuple(caches))

    def at_or_after(self, start: int) -> "SequenceCells":
        """The cells at positions >= ``start``."""
        return SequenceCells(self.header, tuple(c.select(c.pos >= start) for c in self.caches))

    def before(self, start: int) -> "SequenceCells":
        """The cells at positions < ``start``."""
        return SequenceCells(self.header, tuple(c.select(c.pos < start) for c in self.caches))

    def join(self, other: "SequenceCells") -> "SequenceCells":
        if self.header != other.header or len(self.caches) != len(other.caches):
            raise CellFormatError("cannot join states of different layouts")
        return SequenceCells(self.header, tuple(a.join(b) for a, b in zip(self.caches, other.caches)))

    def to_bytes(self) -> bytes:
        return self.header + b"".join(c.to_bytes() for c in self.caches)


class _Reader:
    def __init__(self, blob: bytes) -> None:
        self.view, self.offset = memoryview(blob), 0

    @property
    def done(self) -> bool:
        return self.offset >= len(self.view)

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.view):
            raise CellFormatError("sequence state ends early")
        chunk = self.view[self.offset:self.offset + n]
        self.offset += n
        return bytes(chunk)

    def array(self, n: int, dtype) -> np.ndarray:
        return np.frombuffer(self.take(n * np.dtype(dtype).itemsize), dtype=dtype)

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def _read_cache(reader: _Reader) -> CacheCells:
    n_stream, count = reader.unpack("<II")
    if n_stream != 1:
        raise CellFormatError(f"expected one stream per cache, found {n_stream}")
    if count == 0:
        return CacheCells(np.zeros(0, dtype="<i4"), 0, (), ())
    cells = reader.array(count, _CELL)
    if np.any(cells["n_seq"] != 1):
        raise CellFormatError("cells shared between sequences")
    v_trans, n_layer = reader.unpack("<II")
    k = tuple(_read_rows(reader, count) for _ in range(n_layer))
    v = tuple((_read_transposed(reader, count) if v_trans else _read_rows(reader, count)) for _ in range(n_layer))
    return CacheCells(cells["pos"].copy(), v_trans, k, v)


def _read_rows(reader: _Reader, count: int) -> LayerRows:
    header = reader.take(12)
    (row,) = struct.unpack_from("<Q", header, 4)
    return LayerRows(header, reader.array(count * row, np.uint8).reshape(count, row))


def _read_transposed(reader: _Reader, count: int) -> LayerRows:
    header = reader.take(12)
    el, n_embd = struct.unpack_from("<II", header, 4)
    return LayerRows(header, reader.array(n_embd * count * el, np.uint8).reshape(n_embd, count, el))


def _join_layers(a: tuple[LayerRows, ...], b: tuple[LayerRows, ...], axis: int) -> tuple[LayerRows, ...]:
    if any(x.header != y.header for x, y in zip(a, b)):
        raise CellFormatError("layer layouts differ")
    return tuple(LayerRows(x.header, np.concatenate([x.data, y.data], axis=axis)) for x, y in zip(a, b))
