"""The timeline: every memory event, in time order, for the user to look into."""

from __future__ import annotations

import json
from datetime import datetime

from engine.events import MemoryKind
from engine.memory.db import Database
from engine.memory.types import Event

MESSAGE_STORED, EVICTED, SUMMARISED = MemoryKind.MESSAGE_STORED, MemoryKind.EVICTED, MemoryKind.SUMMARISED
CORE_EDIT, ARCHIVAL_INSERT, SEARCH, PAGE_IN = (MemoryKind.CORE_EDIT, MemoryKind.ARCHIVAL_INSERT, MemoryKind.SEARCH,
                                               MemoryKind.PAGE_IN)
AGENT_IMPORTED = MemoryKind.AGENT_IMPORTED
KINDS = tuple(MemoryKind)


class Timeline:
    """Appends events and queries them by agent, kind and time range."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def log(self, agent_id: int | None, kind: str, payload: dict, at: datetime | None = None) -> Event:
        at = at or datetime.now()
        row = self.db.cursor().execute(
            "INSERT INTO timeline_events (agent_id, occurred_at, kind, payload) VALUES (?, ?, ?, ?) RETURNING id",
            [agent_id, at, kind, json.dumps(payload, default=str)]).fetchone()
        return Event(row[0], agent_id, at, kind, payload)

    def query(self, agent_id: int | None = None, kinds: tuple[str, ...] | None = None,
              start: datetime | None = None, end: datetime | None = None,
              limit: int = 100, offset: int = 0, newest_first: bool = False) -> list[Event]:
        clauses, params = ["1=1"], []
        if agent_id is not None:
            clauses.append("agent_id = ?")
            params.append(agent_id)
        if kinds:
            clauses.append(f"kind IN ({', '.join('?' * len(kinds))})")
            params.extend(kinds)
        if start is not None:
            clauses.append("occurred_at >= ?")
            params.append(start)
        if end is not None:
            clauses.append("occurred_at <= ?")
            params.append(end)
        order = "DESC" if newest_first else "ASC"
        rows = self.db.cursor().execute(
            f"SELECT id, agent_id, occurred_at, kind, payload FROM timeline_events WHERE {' AND '.join(clauses)} "
            f"ORDER BY id {order} LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else {}) for r in rows]

    def count(self, agent_id: int | None = None, kind: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM timeline_events WHERE 1=1", []
        if agent_id is not None:
            sql, params = sql + " AND agent_id = ?", [*params, agent_id]
        if kind is not None:
            sql, params = sql + " AND kind = ?", [*params, kind]
        return self.db.cursor().execute(sql, params).fetchone()[0]
