"""LoCoMo evidence recall: does the engine page in the turns that answer a question?

Each conversation is lived by a fresh agent: every turn is stored in order, with its speaker
and its session's date, through the same path as a live message (queue, pressure, eviction with
extractive summaries; the reply model does not run). Then, for each question of categories 1-4,
the engine's page-in search ranks candidates, and we count the share of the question's evidence
turns among the top k.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

DATE_FORMAT = "%I:%M %p on %d %B, %Y"
CATEGORIES = ("1", "2", "3", "4")


@dataclass
class Tally:
    """Sums of per-question recall, by k."""

    ks: tuple[int, ...]
    sums: dict[int, float] = field(default_factory=dict)
    n: int = 0

    def add(self, ranked: list[str], evidence: set[str]) -> None:
        self.n += 1
        for k in self.ks:
            self.sums[k] = self.sums.get(k, 0.0) + len(evidence & set(ranked[:k])) / len(evidence)

    def report(self) -> dict:
        out = {f"recall@{k}": round(self.sums.get(k, 0.0) / self.n, 4) if self.n else 0.0 for k in self.ks}
        return out | {"n": self.n}


def parse_session_date(text: str) -> datetime:
    return datetime.strptime(text.strip(), DATE_FORMAT)


def evidence_ids(raw: list[str]) -> set[str]:
    """Evidence as clean ``D<session>:<turn>`` ids (the data has a few joined or odd ones)."""
    found = set()
    for item in raw:
        found.update(f"D{s}:{t}" for s, t in re.findall(r"D:?(\d+):(\d+)", item))
    return found


def sessions(conversation: dict) -> list[tuple[datetime, list[dict]]]:
    numbers = sorted(int(m.group(1)) for key in conversation if (m := re.fullmatch(r"session_(\d+)", key)))
    return [(parse_session_date(conversation[f"session_{n}_date_time"]), conversation[f"session_{n}"])
            for n in numbers]


def turn_text(turn: dict) -> str:
    text = turn["text"]
    if turn.get("blip_caption"):
        text += f" [shares a photo: {turn['blip_caption']}]"
    return text


def evaluate_conversation(engine, sample: dict, ks: tuple[int, ...], progress: Callable[[str], None]) -> dict:
    """Ingest one conversation into a fresh agent, then score every question of categories 1-4."""
    name = f"locomo-{sample['sample_id']}-{int(time.time() * 1000)}"
    agent = engine.create_agent(name)
    loop, id_to_dia = engine.loop, {}
    for session_time, turns in sessions(sample["conversation"]):
        for offset, turn in enumerate(turns):
            at = session_time.replace(second=min(59, offset))
            message = loop.observe(agent.id, turn_text(turn), name=turn["speaker"], created_at=at)
            id_to_dia[message.id] = turn["dia_id"]
    engine.store.message_vectors.embed_pending()
    engine.store.recall.fts.wait()
    engine.store.recall.fts.rebuild()  # the app rebuilds off the hot path; questions come later
    progress(f"{sample['sample_id']}: {len(id_to_dia)} turns stored")
    by_cat = {c: Tally(ks) for c in CATEGORIES}
    for qa in sample["qa"]:
        category, evidence = str(qa.get("category")), evidence_ids(qa.get("evidence", []))
        if category not in by_cat or not evidence:
            continue
        hits = engine.store.retriever.search(agent.id, qa["question"], k=max(ks), tiers=("recall",))
        ranked = [id_to_dia.get(h.id, "") for h in hits if h.tier == "recall"]
        by_cat[category].add(ranked, evidence)
    engine.delete_agent(name)
    return {c: t for c, t in by_cat.items()}


def run_locomo(engine, data: Path, conversations: list[str] | None, ks: tuple[int, ...],
               progress: Callable[[str], None] = lambda _: None) -> dict:
    samples = json.loads(Path(data).read_text())
    if conversations:
        samples = [s for s in samples if s["sample_id"] in conversations]
    overall, by_cat, per_conv = Tally(ks), {c: Tally(ks) for c in CATEGORIES}, {}
    started = time.perf_counter()
    for sample in samples:
        tallies = evaluate_conversation(engine, sample, ks, progress)
        conv = Tally(ks)
        for category, tally in tallies.items():
            for target in (by_cat[category], conv, overall):
                target.n += tally.n
                for k, v in tally.sums.items():
                    target.sums[k] = target.sums.get(k, 0.0) + v
        per_conv[sample["sample_id"]] = conv.report()
        progress(f"{sample['sample_id']}: recall@10 {per_conv[sample['sample_id']].get('recall@10')}")
    return {"overall": overall.report(), "by_category": {c: t.report() for c, t in by_cat.items()},
            "conversations": per_conv, "seconds": round(time.perf_counter() - started, 1),
            "method": "hybrid page-in search (BM25 + MiniLM vectors + recency/date priors) over recall; "
                      "evictions used the extractive summary"}
