"""Core-memory accuracy as letta-evals measures it: can the agent read and update what it holds?

Each row gets a fresh agent whose core memory holds the row's facts (a block of their own, or
the human block). ``read``: the user asks the row's question. ``update``: the user first gives a
fact that changes the answer, then asks. A reply is correct when it contains the ground truth
(case and punctuation ignored), as Letta grades it. Everything runs through the ``Engine``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from engine.eval.answer_scores import normalise
from engine.events import ContextEvent, DoneEvent

UPDATE_PROMPT = "Please update your knowledge with this new information: {fact}"
REFUSAL = re.compile(r"\b(don'?t|do not|doesn'?t|does not|cannot|can'?t|couldn'?t|unable to)\b.{0,40}"
                     r"\b(know|have|find|recall|remember|information|details|access|sure)\b"
                     r"|\bno (information|record|details|data)\b|\bnot (sure|mentioned|available|aware)\b", re.I)
SUITES = ("read", "update")


@dataclass
class TurnRecord:
    seconds: float
    steps: int
    reply: str


@dataclass
class CoreMemoryTally:
    """Counts over rows; ``misses`` keeps every wrong reply with its row number, to read."""

    correct: int = 0
    updated: int = 0
    refused: int = 0
    n: int = 0
    turns: list[TurnRecord] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)
    by_fact_set: dict[str, list[int]] = field(default_factory=dict)
    """Correct and total per fact set, to see whether accuracy holds across sets, not on average only."""

    def report(self, suite: str) -> dict:
        share = (lambda k: round(k / self.n, 4) if self.n else 0.0)
        return {"suite": suite, "accuracy": share(self.correct),
                "core_updated": share(self.updated) if suite == "update" else None,
                "refusals": share(self.refused),
                "median_turn_s": round(statistics.median(t.seconds for t in self.turns), 2) if self.turns else 0.0,
                "median_steps": statistics.median(t.steps for t in self.turns) if self.turns else 0,
                "n": self.n, "fact_sets": self._fact_sets(), "misses": self.misses}

    def _fact_sets(self) -> dict:
        shares = [right / total for right, total in self.by_fact_set.values()]
        return {"n": len(shares), "min_accuracy": round(min(shares), 4) if shares else 0.0,
                "max_accuracy": round(max(shares), 4) if shares else 0.0}


def read_rows(path: Path, limit: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def contains_answer(reply: str, truth: str) -> bool:
    """Letta's grading: the ground truth appears in the reply, case and punctuation ignored."""
    return " ".join(normalise(truth)) in " ".join(normalise(reply)) if normalise(truth) else False


def run_core_memory(engine, suite: str, rows: list[dict], block: str = "facts",
                    say: Callable[[str], None] = lambda line: None) -> dict:
    """Run every row through a fresh agent of ``engine``; returns the report."""
    if suite not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(SUITES)}")
    tally = CoreMemoryTally()
    for index, row in enumerate(rows, 1):
        _run_row(engine, suite, row, index, block, tally)
        say(f"[{index}/{len(rows)}] accuracy {tally.correct / tally.n:.3f}"
            f"{f', core updated {tally.updated / tally.n:.3f}' if suite == 'update' else ''}")
    return tally.report(suite)


def _run_row(engine, suite: str, row: dict, index: int, block: str, tally: CoreMemoryTally) -> None:
    extra = row["agent_args"]["extra"]
    facts = "\n".join(extra["facts"])
    name = f"{suite}-{index}"
    if block == "human":
        engine.create_agent(name, human=facts)
    else:
        engine.create_agent(name, blocks={block: facts})
    if suite == "update":
        tally.turns.append(_turn(engine, name, UPDATE_PROMPT.format(fact=extra["contradicting_fact"])))
    record = _turn(engine, name, row["input"])
    tally.turns.append(record)
    tally.n += 1
    correct = contains_answer(record.reply, row["ground_truth"])
    tally.correct += correct
    counts = tally.by_fact_set.setdefault(extra["facts"][0], [0, 0])
    counts[0], counts[1] = counts[0] + correct, counts[1] + 1
    tally.refused += bool(REFUSAL.search(record.reply))
    if suite == "update":
        held = "\n".join(b.value for b in engine.core_blocks(name))
        tally.updated += contains_answer(held, extra["contradicting_answer"])
    if not correct:
        tally.misses.append({"row": index - 1, "input": row["input"], "ground_truth": row["ground_truth"], "reply": record.reply})


def _turn(engine, agent: str, text: str) -> TurnRecord:
    start, steps, reply = time.perf_counter(), 0, ""
    for event in engine.send(text, agent=agent):
        if isinstance(event, ContextEvent):
            steps += 1
        elif isinstance(event, DoneEvent):
            reply = event.reply
    return TurnRecord(time.perf_counter() - start, steps, reply)
