"""An agent as a Letta agent file: its blocks, every message, its window, and (in the ``llmos``
extension) its archival passages, the summary and each message exactly as stored."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from engine.agentfile.document import EXTENSION
from engine.agentfile.letta_messages import to_letta_message
from engine.context.state import ContextStateStore
from engine.memory.embeddings import DIM, MODEL_ID

AGENT_ID = "agent-0"
FORMAT_VERSION = 1


def build_document(store, agent, system: str, tools: list[dict], model: str, n_ctx: int) -> dict:
    blocks = store.core.blocks(agent.id)
    messages = store.recall.range(agent.id, limit=10**9)
    state = ContextStateStore(store.db).get(agent.id)
    local = {m.id: f"message-{i}" for i, m in enumerate(messages)}
    open_calls: list[str] = []
    letta_messages = [to_letta_message(m.role, m.content, m.name, m.created_at, local[m.id], AGENT_ID, model,
                                       open_calls) for m in messages]
    queue_start = next((i for i, m in enumerate(messages) if state.queue_start_id and m.id >= state.queue_start_id),
                       None)
    in_context = [local[m.id] for m in messages[queue_start:]] if queue_start is not None else []
    now = datetime.now(timezone.utc).isoformat()
    passages = store.archival.all(agent.id)
    return {
        "agents": [{
            "id": AGENT_ID, "name": agent.name, "agent_type": "memgpt_agent", "system": system,
            "description": "exported from llmos", "block_ids": [f"block-{i}" for i in range(len(blocks))],
            "tool_ids": [t["id"] for t in tools], "tool_rules": [], "tags": [], "metadata": {},
            "llm_config": {"model": model, "model_endpoint_type": "llama.cpp", "context_window": n_ctx,
                           "handle": f"llama.cpp/{model}", "temperature": 0.0},
            "embedding_config": {"embedding_model": MODEL_ID.split("/")[-1], "embedding_dim": DIM,
                                 "embedding_endpoint_type": "hugging-face", "embedding_chunk_size": 300,
                                 "handle": f"hugging-face/{MODEL_ID}"},
            "messages": letta_messages, "in_context_message_ids": in_context, "memory_blocks": [],
            "created_at": agent.created_at.astimezone().isoformat(),
        }],
        "blocks": [{"id": f"block-{i}", "label": b.label, "value": b.value, "limit": b.limit, "description": None,
                    "metadata": {}, "read_only": False, "is_template": False} for i, b in enumerate(blocks)],
        "tools": tools, "groups": [], "files": [], "sources": [], "mcp_servers": [],
        "metadata": {"exported_by": "llmos"}, "created_at": now,
        EXTENSION: {"format": "llmos agent extension", "version": FORMAT_VERSION, "agents": {AGENT_ID: {
            "summary": state.summary, "queue_start": queue_start,
            "messages": [{"role": m.role, "name": m.name, "content": m.content} for m in messages],
            "passages": [{"text": p.text, "created_at": p.created_at.astimezone().isoformat(), "source": p.source}
                         for p in passages]}}},
    }


def letta_tools(specs) -> list[dict]:
    """The memory functions as Letta tool entries (schemas only: llmos runs them itself)."""
    return [{"id": f"tool-{i}", "name": spec.name, "tool_type": "letta_core", "description": spec.description,
             "source_type": "python", "source_code": None, "tags": ["llmos"],
             "json_schema": {"name": spec.name, "description": spec.description, "parameters": spec.parameters}}
            for i, spec in enumerate(specs)]


def write_document(document: dict, out: Path) -> None:
    """Write through a temporary file and rename, so a crash never leaves half a file."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, out)
