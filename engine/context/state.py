"""Where an agent's window stands between turns: the queue's first message, the summary, and
what was paged in for the latest message.

Kept in the database so a restart compiles the same window, and the saved KV cache matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ContextState:
    queue_start_id: int = 0
    summary: str = ""
    recalled: str = ""


class ContextStateStore:
    def __init__(self, db) -> None:
        self.db = db

    def get(self, agent_id: int) -> ContextState:
        row = self.db.cursor().execute(
            "SELECT queue_start_id, summary, recalled FROM context_state WHERE agent_id = ?", [agent_id]).fetchone()
        return ContextState(row[0], row[1], row[2] or "") if row else ContextState()

    def set(self, agent_id: int, state: ContextState) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN")
        self.write(cur, agent_id, state)
        cur.execute("COMMIT")

    @staticmethod
    def write(cur, agent_id: int, state: ContextState) -> None:
        """Replace the agent's state inside the caller's transaction."""
        cur.execute("DELETE FROM context_state WHERE agent_id = ?", [agent_id])
        cur.execute("INSERT INTO context_state (agent_id, queue_start_id, summary, updated_at, recalled) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [agent_id, state.queue_start_id, state.summary, datetime.now(), state.recalled])
