"""Agents: named conversations, each with its own recall, archival and core memory."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from engine.errors import InputError, NotFoundError
from engine.memory.core import CoreMemory
from engine.memory.db import Database
from engine.memory.types import Agent

log = logging.getLogger(__name__)

DEFAULT_NAME = "default"
DEFAULT_PERSONA = ("I am a friendly, helpful assistant. I remember what we talk about and keep "
                   "important facts about the user in my core memory.")
DEFAULT_HUMAN = "Nothing known about the user yet."

# Every table holding per-agent rows; deleting an agent empties them all.
_AGENT_TABLES = ("messages", "message_views", "core_block_versions", "core_blocks", "archival_passages",
                 "timeline_events", "context_state")


class AgentStore:
    """Creates, finds, renames and deletes agents; a new agent starts with persona and human blocks."""

    def __init__(self, db: Database, core: CoreMemory) -> None:
        self.db = db
        self.core = core

    def create(self, name: str, persona: str = DEFAULT_PERSONA, human: str = DEFAULT_HUMAN) -> Agent:
        agent = self.create_without_blocks(name)
        self.core.create(agent.id, "persona", persona)
        self.core.create(agent.id, "human", human)
        log.info("created agent %r (%d)", name, agent.id)
        return agent

    def create_without_blocks(self, name: str) -> Agent:
        """The agent's row alone: an import brings its own blocks."""
        name = self._free_name(name)
        created_at = datetime.now()
        row = self.db.cursor().execute(
            "INSERT INTO agents (name, created_at, settings) VALUES (?, ?, ?) RETURNING id",
            [name, created_at, "{}"]).fetchone()
        return Agent(row[0], name, created_at, {})

    def get(self, agent_id: int) -> Agent:
        row = self._row("id = ?", agent_id)
        if row is None:
            raise NotFoundError(f"there is no agent with id {agent_id}")
        return _agent(row)

    def get_by_name(self, name: str) -> Agent:
        row = self._row("name = ?", name)
        if row is None:
            raise NotFoundError(f"there is no agent named {name!r}")
        return _agent(row)

    def list(self) -> list[Agent]:
        rows = self.db.cursor().execute("SELECT id, name, created_at, settings FROM agents ORDER BY id").fetchall()
        return [_agent(r) for r in rows]

    def rename(self, agent_id: int, new_name: str) -> Agent:
        agent = self.get(agent_id)
        new_name = new_name.strip() if new_name else ""
        if new_name != agent.name:
            new_name = self._free_name(new_name)
            self.db.cursor().execute("UPDATE agents SET name = ? WHERE id = ?", [new_name, agent_id])
        return self.get(agent_id)

    def delete(self, agent_id: int) -> None:
        """Delete the agent and everything it remembers, in one transaction."""
        self.get(agent_id)
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            for table in _AGENT_TABLES:
                cur.execute(f"DELETE FROM {table} WHERE agent_id = ?", [agent_id])
            cur.execute("DELETE FROM agents WHERE id = ?", [agent_id])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        log.info("deleted agent %d", agent_id)

    def ensure_default(self) -> Agent:
        """The agent named "default", created on first use."""
        row = self._row("name = ?", DEFAULT_NAME)
        return _agent(row) if row else self.create(DEFAULT_NAME)

    def update_settings(self, agent_id: int, settings: dict[str, Any]) -> Agent:
        """Merge ``settings`` into the agent's settings (a key set to None is removed)."""
        merged = {**self.get(agent_id).settings, **settings}
        merged = {k: v for k, v in merged.items() if v is not None}
        self.db.cursor().execute("UPDATE agents SET settings = ? WHERE id = ?", [json.dumps(merged), agent_id])
        return self.get(agent_id)

    def _free_name(self, name: str) -> str:
        name = (name or "").strip()
        if not name:
            raise InputError("an agent needs a name")
        if self._row("name = ?", name) is not None:
            raise InputError(f"an agent named {name!r} already exists; choose another name")
        return name

    def _row(self, where: str, value: Any) -> tuple | None:
        return self.db.cursor().execute(
            f"SELECT id, name, created_at, settings FROM agents WHERE {where} ORDER BY id LIMIT 1", [value]).fetchone()


def _agent(row: tuple) -> Agent:
    settings = json.loads(row[3]) if row[3] else {}
    return Agent(row[0], row[1], row[2], settings)
