"""Write an import plan into the memory store as one transaction: all of the agent or none of it.

Passages are embedded first (the slow part, with progress), so the transaction itself only
writes rows; the vector index learns the new passages once the rows are committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.agentfile.document import ImportPlan
from engine.context.state import ContextState, ContextStateStore
from engine.crash_points import crash_point
from engine.memory.agents import DEFAULT_HUMAN, DEFAULT_PERSONA
from engine.memory.db import rollback
from engine.memory.recall import bulk_batch
from engine.memory.timeline import AGENT_IMPORTED

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ImportReport:
    agent: str
    blocks: int
    messages: int
    in_context: int
    passages: int
    tools: list[str]
    skipped: list[str]


def import_plan(store, plan: ImportPlan, progress: Progress | None = None) -> ImportReport:
    vectors = store.embedder().embed([p[0] for p in plan.passages]) if plan.passages else None
    if progress:
        progress("embedding passages", len(plan.passages), len(plan.passages))
    labels = {label for label, _, _ in plan.blocks}
    blocks = [*plan.blocks, *((label, value, max(2000, len(value))) for label, value in
                              (("persona", DEFAULT_PERSONA), ("human", DEFAULT_HUMAN)) if label not in labels)]
    cur = store.db.cursor()
    cur.execute("BEGIN")
    try:
        agent = store.agents.create_without_blocks(plan.name)
        for label, value, limit in blocks:
            store.core.create(agent.id, label, value, limit=limit, author="user")
        message_ids = _insert_messages(store, cur, agent.id, plan)
        passage_ids = store.archival.insert_rows(cur, agent.id, plan.passages, vectors) if plan.passages else []
        if plan.queue_start is not None or plan.summary:
            # The file's window becomes the queue; with none, the next message starts it.
            start = message_ids[plan.queue_start] if plan.queue_start is not None else 0
            ContextStateStore.write(cur, agent.id, ContextState(start, plan.summary))
        store.timeline.log(agent.id, AGENT_IMPORTED, {"messages": len(plan.messages), "passages": len(passage_ids),
                                                      "blocks": len(blocks)})
        crash_point("agent_import")
        cur.execute("COMMIT")
    except Exception:
        rollback(cur)
        raise
    store.recall.after_bulk_insert()
    if passage_ids:
        store.archival.index_rows(passage_ids, vectors)
    in_context = len(plan.messages) - plan.queue_start if plan.queue_start is not None else 0
    return ImportReport(agent.name, len(blocks), len(plan.messages), in_context, len(passage_ids), plan.tools,
                        plan.skipped)


def _insert_messages(store, cur, agent_id: int, plan: ImportPlan) -> list[int]:
    """Insert the messages in order; their ids, in the same order."""
    if not plan.messages:
        return []
    store.recall.insert_rows(cur, agent_id, bulk_batch(
        (m.role, m.content, m.name, m.created_at) for m in plan.messages))
    return [r[0] for r in cur.execute("SELECT id FROM messages WHERE agent_id = ? ORDER BY id", [agent_id]).fetchall()]
