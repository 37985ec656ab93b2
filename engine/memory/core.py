"""Core memory: the small labelled blocks always in the model's view, with every version kept.

A block's current value is its newest version; an edit never overwrites, it adds a version with
its author and reason, so the user can see who changed what and revert any change.
"""

from __future__ import annotations

import logging
from datetime import datetime

from engine.crash_points import crash_point
from engine.errors import CoreMemoryLimitError, InputError, LlmosError, NotFoundError
from engine.memory.db import Database
from engine.memory.timeline import CORE_EDIT, Timeline
from engine.memory.types import AUTHORS, BlockVersion, CoreBlock

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 2000
FIRST_LABELS = ("persona", "human")

_VERSION_COLUMNS = "agent_id, label, version, value, char_limit, author, reason, created_at"


class CoreMemoryEditError(LlmosError):
    """An edit that cannot apply as asked, e.g. replacing text the block does not contain."""


class CoreMemory:
    """Reads and edits core blocks; each edit is a new version and a ``core_edit`` event."""

    def __init__(self, db: Database, timeline: Timeline) -> None:
        self.db = db
        self.timeline = timeline

    def get(self, agent_id: int, label: str) -> CoreBlock:
        version = self._latest(agent_id, label)
        return _block(version)

    def blocks(self, agent_id: int) -> list[CoreBlock]:
        """Every block of an agent: persona first, then human, then the rest by label."""
        rows = self.db.cursor().execute(
            f"SELECT {_VERSION_COLUMNS} FROM core_block_versions WHERE agent_id = ? "
            "QUALIFY row_number() OVER (PARTITION BY label ORDER BY version DESC) = 1", [agent_id]).fetchall()
        blocks = [_block(_version(r)) for r in rows]
        return sorted(blocks, key=lambda b: (_rank(b.label), b.label))

    def create(self, agent_id: int, label: str, value: str, limit: int = DEFAULT_LIMIT,
               author: str = "system") -> CoreBlock:
        label = _check_label(label)
        if self._exists(agent_id, label):
            raise InputError(f"agent {agent_id} already has a core memory block named {label!r}")
        if limit < 1:
            raise InputError(f"a block's character limit must be positive, not {limit}")
        _check_size(label, value, limit)
        self.db.cursor().execute("INSERT INTO core_blocks VALUES (?, ?, ?)", [agent_id, label, datetime.now()])
        return self._add_version(agent_id, label, value, limit, author, "created", previous=None)

    def append(self, agent_id: int, label: str, text: str, author: str, reason: str | None = None) -> CoreBlock:
        """Add ``text`` to the end of the block (the caller supplies any separator)."""
        current = self._latest(agent_id, label)
        return self._edit(current, current.value + text, author, reason)

    def replace(self, agent_id: int, label: str, old: str, new: str, author: str,
                reason: str | None = None) -> CoreBlock:
        """Replace every occurrence of ``old`` with ``new``; ``old`` must occur."""
        current = self._latest(agent_id, label)
        if not old or old not in current.value:
            raise CoreMemoryEditError(
                f"the {label!r} block does not contain the text to replace: {old[:80]!r}")
        return self._edit(current, current.value.replace(old, new), author, reason)

    def set(self, agent_id: int, label: str, value: str, author: str, reason: str | None = None) -> CoreBlock:
        """Give the block a whole new value."""
        return self._edit(self._latest(agent_id, label), value, author, reason)

    def history(self, agent_id: int, label: str) -> list[BlockVersion]:
        """Every version of a block, newest first."""
        self._latest(agent_id, label)
        rows = self.db.cursor().execute(
            f"SELECT {_VERSION_COLUMNS} FROM core_block_versions WHERE agent_id = ? AND label = ? "
            "ORDER BY version DESC", [agent_id, label]).fetchall()
        return [_version(r) for r in rows]

    def revert(self, agent_id: int, label: str, version: int, author: str = "user") -> CoreBlock:
        """Bring back an old version's value; the revert is itself a new version."""
        current = self._latest(agent_id, label)
        row = self.db.cursor().execute(
            f"SELECT {_VERSION_COLUMNS} FROM core_block_versions WHERE agent_id = ? AND label = ? AND version = ?",
            [agent_id, label, version]).fetchone()
        if row is None:
            raise NotFoundError(f"the {label!r} block has no version {version} (it is at v{current.version})")
        return self._edit(current, _version(row).value, author, f"revert to v{version}")

    def delete_agent(self, agent_id: int) -> None:
        """Drop every block and version of an agent (used when the agent is deleted)."""
        cur = self.db.cursor()
        cur.execute("DELETE FROM core_block_versions WHERE agent_id = ?", [agent_id])
        cur.execute("DELETE FROM core_blocks WHERE agent_id = ?", [agent_id])

    def _edit(self, current: BlockVersion, value: str, author: str, reason: str | None) -> CoreBlock:
        _check_size(current.label, value, current.limit)
        return self._add_version(current.agent_id, current.label, value, current.limit, author, reason,
                                 previous=current)

    def _add_version(self, agent_id: int, label: str, value: str, limit: int, author: str,
                     reason: str | None, previous: BlockVersion | None) -> CoreBlock:
        if author not in AUTHORS:
            raise InputError(f"an edit's author must be one of {', '.join(AUTHORS)}, not {author!r}")
        number = previous.version + 1 if previous else 1
        self.db.cursor().execute(
            f"INSERT INTO core_block_versions ({_VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [agent_id, label, number, value, limit, author, reason, datetime.now()])
        crash_point("core_edit")
        self.timeline.log(agent_id, CORE_EDIT, {
            "label": label, "version": number, "author": author, "reason": reason,
            "old_len": len(previous.value) if previous else 0, "new_len": len(value)})
        log.debug("core block %s of agent %d is now v%d", label, agent_id, number)
        return CoreBlock(agent_id, label, value, limit, number)

    def _latest(self, agent_id: int, label: str) -> BlockVersion:
        row = self.db.cursor().execute(
            f"SELECT {_VERSION_COLUMNS} FROM core_block_versions WHERE agent_id = ? AND label = ? "
            "ORDER BY version DESC LIMIT 1", [agent_id, label]).fetchone()
        if row is None:
            raise NotFoundError(f"there is no core memory block {label!r} for agent {agent_id}")
        return _version(row)

    def _exists(self, agent_id: int, label: str) -> bool:
        return self.db.cursor().execute(
            "SELECT count(*) FROM core_blocks WHERE agent_id = ? AND label = ?", [agent_id, label]).fetchone()[0] > 0


def _check_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise InputError("a core memory block needs a label")
    return label


def _check_size(label: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise CoreMemoryLimitError(
            f"the {label!r} block would hold {len(value)} characters, over its limit of {limit}; "
            "shorten or replace text instead")


def _rank(label: str) -> int:
    return FIRST_LABELS.index(label) if label in FIRST_LABELS else len(FIRST_LABELS)


def _version(row) -> BlockVersion:
    return BlockVersion(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def _block(version: BlockVersion) -> CoreBlock:
    return CoreBlock(version.agent_id, version.label, version.value, version.limit, version.version)
