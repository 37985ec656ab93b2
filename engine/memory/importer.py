"""Importing text and markdown files into archival memory as passages of about 1,000 characters.

Files that are not text (NUL bytes, not UTF-8), unreadable or too large are skipped with a
reason in the report, so one bad file never stops an import of many.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from engine.memory.archival import ArchivalStore

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
CHUNK_CHARS = 1000
OVERLAP_CHARS = 100
HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)


@dataclass(frozen=True)
class ImportReport:
    """What an import did: ``skipped`` holds (path, reason) for each file left out."""

    files: int
    passages: int
    skipped: tuple[tuple[Path, str], ...]


def import_files(archival: ArchivalStore, agent_id: int, paths: Sequence[Path],
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    files, passages, skipped = 0, 0, []
    for n, path in enumerate(map(Path, paths), 1):
        text, reason = read_text(path)
        if reason:
            log.info("skipped %s: %s", path, reason)
            skipped.append((path, reason))
        elif chunks := chunk_text(text):
            passages += len(archival.insert_many(agent_id, chunks, source=str(path)))
            files += 1
        else:
            skipped.append((path, "the file is empty"))
        if progress:
            progress(n, len(paths))
    return ImportReport(files, passages, tuple(skipped))


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text, or a reason it cannot be imported."""
    try:
        if not path.is_file():
            return "", "not a file"
        if path.stat().st_size > MAX_BYTES:
            return "", f"larger than {MAX_BYTES // (1024 * 1024)} MB"
        data = path.read_bytes()
    except OSError as exc:
        return "", f"cannot be read ({exc.strerror or exc})"
    if b"\x00" in data:
        return "", "binary file (contains NUL bytes)"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", "not UTF-8 text"


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = OVERLAP_CHARS) -> list[str]:
    """Split at headings, then pack paragraphs up to ``size``; long paragraphs are cut with overlap."""
    chunks: list[str] = []
    for section in _sections(text):
        chunks.extend(_pack(_paragraphs(section, size, overlap), size))
    return chunks


def _sections(text: str) -> list[str]:
    starts = [m.start() for m in HEADING.finditer(text)]
    bounds = [0, *[s for s in starts if s > 0], len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]


def _paragraphs(section: str, size: int, overlap: int) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", section):
        para = para.strip()
        while len(para) > size:
            cut = _cut_point(para, size - overlap)  # leaves room to pack a heading with it
            out.append(para[:cut].strip())
            resume = para.find(" ", cut - overlap, cut)
            para = para[resume + 1 if resume > 0 else cut:].strip()
        if para:
            out.append(para)
    return out


def _cut_point(text: str, size: int) -> int:
    """Prefer a sentence end, then a space, in the last third of the window."""
    for sep in (". ", "\n", " "):
        at = text.rfind(sep, size * 2 // 3, size)
        if at > 0:
            return at + 1
    return size


def _pack(paragraphs: list[str], size: int) -> list[str]:
    chunks, current = [], ""
    for para in paragraphs:
        if current and len(current) + 2 + len(para) > size:
            chunks.append(current)
            current = para
        else:
            current = f"{current}\n\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks
