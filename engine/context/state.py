"""Where an agent's window stands between turns: the queue's first message and the summary.

Kept in the database so a restart resumes the same window (and the saved KV cache matches it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ContextState:
    queue_start_id: int = 0
    summary: str = ""


class ContextStateStore:
    def __init__(self, db) -> None:
        self.db = db

    def get(self, agent_id: int) -> ContextState:
        row = self.db.cursor().execute(
            "SELECT queue_start_id, summary FROM context_state WHERE agent_id = ?", [agent_id]).fetchone()
        return ContextState(row[0], row[1]) if row else ContextState()

    def set(self, agent_id: int, state: ContextState) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN")
        cur.execute("DELETE FROM context_state WHERE agent_id = ?", [agent_id])
        cur.execute("INSERT INTO context_state VALUES (?, ?, ?, ?)",
                    [agent_id, state.queue_start_id, state.summary, datetime.now()])
        cur.execute("COMMIT")
