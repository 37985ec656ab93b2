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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

from engine.agent.page_in import PAGE_IN_HITS
from engine.eval.answer_scores import ADVERSARIAL, SCORING, AnswerTally
from engine.eval.answers import NOT_MENTIONED, SOURCE_CHECK, TOPIC_CHECK, Answer, answer, asks_for_guess
from engine.memory.told_by import answer_told_by_someone_else, told_by_someone_else

log = logging.getLogger(__name__)

CATEGORIES = ("1", "2", "3", "4")
ANSWER_MEMORIES = PAGE_IN_HITS
"""How many paged-in memories the model answers from: as many as a chat turn pages in, so the
answers measure what a user gets. Each costs about 0.6 s a question on 2 cores; ten instead of
eight gained 0-4 points of F1 on the held-out conversations (docs/evaluation.md)."""


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


def parse_session_date(text: str) -> datetime | None:
    """A session's time as LoCoMo writes it ("1:56 pm on 8 May, 2023"), tolerating small
    variations (no comma, a short month, no time); None when it cannot be read."""
    cleaned = re.sub(r"\s+", " ", text.strip().replace(",", ""))
    for fmt in ("%I:%M %p on %d %B %Y", "%I:%M %p on %d %b %Y", "%d %B %Y", "%d %b %Y", "%B %d %Y"):
        try:
            return datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
    return None


def evidence_ids(raw: list[str]) -> set[str]:
    """Evidence as clean ``D<session>:<turn>`` ids (the data has a few joined or odd ones)."""
    found = set()
    for item in raw:
        found.update(f"D{int(s)}:{int(t)}" for s, t in re.findall(r"D:?(\d+):(\d+)", item))
    return found


def clean_dia_id(raw: str) -> str:
    """A turn's id in the form evidence ids take ("D03:07" -> "D3:7"), or "" if it has none."""
    return next(iter(evidence_ids([raw])), "")


def sessions(conversation: dict) -> list[tuple[datetime, list[dict]]]:
    """Sessions in order with their times; one whose time is missing or unreadable is placed a
    day after the one before it (a warning says so) rather than stopping the evaluation."""
    numbers = sorted(int(m.group(1)) for key in conversation if (m := re.fullmatch(r"session_(\d+)", key)))
    out: list[tuple[datetime, list[dict]]] = []
    for n in numbers:
        raw = conversation.get(f"session_{n}_date_time") or ""
        when = parse_session_date(raw)
        if when is None:
            when = out[-1][0] + timedelta(days=1) if out else datetime(2000, 1, 1, 12)
            log.warning("session %d: unreadable time %r, placed at %s", n, raw, when)
        out.append((when, conversation[f"session_{n}"] or []))
    return out


def turn_text(turn: dict) -> str:
    text = str(turn.get("text") or "")
    if turn.get("blip_caption"):
        text += f" [shares a photo: {turn['blip_caption']}]"
    return text


def ingest_conversation(engine, sample: dict, agent_name: str) -> tuple[str, dict[int, str]]:
    """Live the conversation as a fresh agent; return the agent's name and message id -> dia_id."""
    engine.create_agent(agent_name)
    id_to_dia = {}
    for session_time, turns in sessions(sample["conversation"]):
        for offset, turn in enumerate(turns):
            text = turn_text(turn)
            if not text.strip():
                continue
            at = session_time.replace(second=min(59, offset))
            message = engine.observe(text, agent_name, name=str(turn.get("speaker") or ""), created_at=at)
            id_to_dia[message.id] = clean_dia_id(str(turn.get("dia_id", "")))
    engine.catch_up_indexes()
    return agent_name, id_to_dia


def asked_time(sample: dict) -> datetime:
    """Questions are asked just after the last session, so "last year" or "in June" read from then."""
    return sessions(sample["conversation"])[-1][0] + timedelta(hours=1)


def questions(sample: dict, limit: int | None = None) -> Iterator[tuple[str, dict, set[str]]]:
    """(category, qa, evidence ids) for every question of categories 1-4 with evidence (the first
    ``limit`` of them, when given)."""
    found = 0
    for qa in sample["qa"]:
        category, evidence = str(qa.get("category")), evidence_ids(qa.get("evidence", []))
        if category in CATEGORIES and evidence:
            if limit is not None and found >= limit:
                return
            found += 1
            yield category, qa, evidence


def adversarial_questions(sample: dict, limit: int | None = None) -> list[dict]:
    """Questions the conversation has no answer for (category 5): a good reply declines."""
    found = [qa for qa in sample["qa"] if str(qa.get("category")) == ADVERSARIAL]
    return found[:limit] if limit is not None else found


def score_questions(engine, agent: str, id_to_dia: dict[int, str], sample: dict, ks: tuple[int, ...],
                    answers: dict[str, AnswerTally] | None = None, answer_k: int = ANSWER_MEMORIES,
                    limit: int | None = None, progress: Callable[[str], None] = lambda _: None) -> dict[str, Tally]:
    """Recall@k by category of what the page-in search ranks for each question; with
    ``answers``, the model also answers from the top ``answer_k`` hits, adversarial questions too."""
    by_cat = {c: Tally(ks) for c in CATEGORIES}
    asked_at = asked_time(sample)
    for category, qa, evidence in questions(sample, limit):
        hits = engine.recall(qa["question"], agent, k=max(ks + (answer_k,)), now=asked_at, tiers=("recall",))
        ranked = [id_to_dia.get(h.id, "") for h in hits if h.tier == "recall"]
        by_cat[category].add(ranked, evidence)
        if answers is not None:
            reply = answer_checked(engine, agent, qa["question"], hits[:answer_k], asked_at)
            answers.setdefault(category, AnswerTally()).add(category, qa["question"], reply.text,
                                                            str(qa.get("answer", "")), reply.seconds,
                                                            reply.prompt_tokens, reply.told_by, reply.check)
            _answered(answers, sample, progress)
    if answers is not None:
        for qa in adversarial_questions(sample, limit):
            hits = engine.recall(qa["question"], agent, k=answer_k, now=asked_at, tiers=("recall",))
            reply = answer_checked(engine, agent, qa["question"], hits, asked_at)
            answers.setdefault(ADVERSARIAL, AnswerTally()).add(ADVERSARIAL, qa["question"], reply.text,
                                                               str(qa.get("adversarial_answer", "")),
                                                               reply.seconds, reply.prompt_tokens, reply.told_by, reply.check)
            _answered(answers, sample, progress)
    return by_cat


def answer_checked(engine, agent: str, question: str, hits: list, asked_at: datetime) -> Answer:
    """The model's answer from ``hits``, unless the memories closest to the question's topic, or
    the memory the answer's words came from, were told by someone other than the person it asks
    about: then it has no answer for that person. A question asking for a guess is always
    answered: it draws on anything known of the person."""
    started = time.perf_counter()
    guess = asks_for_guess(question)
    if not guess:
        topical = engine.recall(question, agent, k=len(hits), now=asked_at, tiers=("recall",),
                                prefer_named_speakers=False)
        teller = told_by_someone_else(question, topical)
        if teller is not None:
            return Answer(NOT_MENTIONED, time.perf_counter() - started, 0, told_by=teller, check=TOPIC_CHECK)
    reply = answer(engine.runtime, question, hits)
    if not guess and reply.text != NOT_MENTIONED:
        teller = answer_told_by_someone_else(question, reply.text, hits)
        if teller is not None:
            return Answer(NOT_MENTIONED, time.perf_counter() - started, reply.prompt_tokens, told_by=teller,
                          check=SOURCE_CHECK)
    return Answer(reply.text, time.perf_counter() - started, reply.prompt_tokens)


def _answered(answers: dict[str, AnswerTally], sample: dict, progress: Callable[[str], None]) -> None:
    """A progress line every ten answers: an answering run takes minutes per conversation."""
    done = sum(len(t.f1) for t in answers.values())
    if done % 10 == 0:
        progress(f"{sample['sample_id']}: {done} questions answered so far")


def evaluate_conversation(engine, sample: dict, ks: tuple[int, ...], progress: Callable[[str], None],
                          answers: dict[str, AnswerTally] | None = None, limit: int | None = None,
                          answer_k: int = ANSWER_MEMORIES) -> dict:
    """Ingest one conversation into a fresh agent, then score every question of categories 1-4."""
    name = f"locomo-{sample['sample_id']}-{int(time.time() * 1000)}"
    agent, id_to_dia = ingest_conversation(engine, sample, name)
    progress(f"{sample['sample_id']}: {len(id_to_dia)} turns stored")
    by_cat = score_questions(engine, agent, id_to_dia, sample, ks, answers, answer_k, limit, progress)
    engine.delete_agent(name)
    return by_cat


def run_locomo(engine, data: Path, conversations: list[str] | None, ks: tuple[int, ...],
               progress: Callable[[str], None] = lambda _: None, answer: bool = False,
               limit: int | None = None, details: Path | None = None,
               answer_k: int = ANSWER_MEMORIES) -> dict:
    samples = json.loads(Path(data).read_text())
    if conversations:
        samples = [s for s in samples if s["sample_id"] in conversations]
    overall, by_cat, per_conv = Tally(ks), {c: Tally(ks) for c in CATEGORIES}, {}
    started = time.perf_counter()
    answers: dict[str, AnswerTally] | None = {} if answer else None
    for sample in samples:
        tallies = evaluate_conversation(engine, sample, ks, progress, answers, limit, answer_k)
        conv = Tally(ks)
        for category, tally in tallies.items():
            for target in (by_cat[category], conv, overall):
                target.n += tally.n
                for k, v in tally.sums.items():
                    target.sums[k] = target.sums.get(k, 0.0) + v
        per_conv[sample["sample_id"]] = conv.report()
        progress(f"{sample['sample_id']}: recall@10 {per_conv[sample['sample_id']].get('recall@10')}")
    result = {"overall": overall.report(), "by_category": {c: t.report() for c, t in by_cat.items()},
              "conversations": per_conv, "seconds": round(time.perf_counter() - started, 1),
              "method": "hybrid page-in search (BM25 + mpnet vectors of messages, MiniLM vectors of "
                        "their sentences and replies in context + speaker/date priors) over recall; "
                        "evictions used the extractive summary"}
    if answers is not None:
        result["answers"] = answer_report(answers, engine.runtime.name)
        result["answers"]["memories_per_question"] = answer_k
        if details is not None:
            Path(details).write_text("".join(json.dumps(r) + "\n" for c in sorted(answers) for r in answers[c].records))
    return result


def answer_report(answers: dict[str, AnswerTally], model: str) -> dict:
    """Overall (question-weighted) and per-category scores of categories 1-4; adversarial apart."""
    total = AnswerTally()
    for category in CATEGORIES:
        if category in answers:
            total.merge(answers[category])
    adversarial = answers.get(ADVERSARIAL, AnswerTally())
    return {"overall": total.report(),
            "by_category": {c: answers[c].report() for c in CATEGORIES if c in answers},
            "adversarial": adversarial.declined_report(), "scoring": SCORING, "model": model,
            "declined_as_told_by_someone_else": {"questions": total.told_by_others(TOPIC_CHECK),
                                                 "adversarial": adversarial.told_by_others(TOPIC_CHECK)},
            "declined_as_drawn_from_someone_else": {"questions": total.told_by_others(SOURCE_CHECK),
                                                    "adversarial": adversarial.told_by_others(SOURCE_CHECK)},
            "examples": [s for c in sorted(answers) for s in answers[c].samples[:2]]}
