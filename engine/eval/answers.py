"""Answer accuracy for memory evaluations: the model answers from what was paged in.

Exact match and token F1 use the usual normalisation (lower case, no punctuation or articles),
so figures compare with published LoCoMo numbers.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field

from engine.memory.types import Hit
from engine.runtime.model import GREEDY, ModelRuntime

ANSWER_PROMPT = ("Memories from earlier conversations:\n{memories}\n\n"
                 "Answer the question in a few words, using the memories.\nQuestion: {question}")
ARTICLES = re.compile(r"\b(a|an|the|and)\b")


def normalise(text: str) -> list[str]:
    text = str(text).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return ARTICLES.sub(" ", text).split()


def exact_match(prediction: str, answer: str) -> float:
    return float(normalise(prediction) == normalise(answer))


def token_f1(prediction: str, answer: str) -> float:
    pred, gold = normalise(prediction), normalise(answer)
    common = sum((Counter(pred) & Counter(gold)).values())
    if not pred or not gold or not common:
        return float(pred == gold)
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def render_memories(hits: list[Hit]) -> str:
    return "\n".join(f"[{h.created_at:%d %B %Y}] {h.name or h.role}: {h.text}" for h in hits)


def answer(runtime: ModelRuntime, question: str, hits: list[Hit], max_tokens: int = 24) -> str:
    """The model's short answer to ``question`` given ``hits`` (first line only)."""
    fmt = runtime.chat_format
    prompt = fmt.render("user", ANSWER_PROMPT.format(memories=render_memories(hits), question=question))
    tokens = runtime.bos_tokens + runtime.tokenize(prompt + fmt.generation_prompt)
    text = runtime.generate_text(tokens, max_tokens=max_tokens, sampling=GREEDY)
    return text.strip().splitlines()[0].strip() if text.strip() else ""


@dataclass
class AnswerTally:
    """Sums of exact match and F1 over answered questions."""

    em: float = 0.0
    f1: float = 0.0
    n: int = 0
    samples: list[dict] = field(default_factory=list)

    def add(self, question: str, prediction: str, gold: str) -> None:
        self.n += 1
        self.em += exact_match(prediction, gold)
        self.f1 += token_f1(prediction, gold)
        if len(self.samples) < 5:
            self.samples.append({"question": question, "answer": gold, "prediction": prediction})

    def merge(self, other: "AnswerTally") -> None:
        self.em, self.f1, self.n = self.em + other.em, self.f1 + other.f1, self.n + other.n

    def report(self) -> dict:
        return {"exact_match": round(self.em / self.n, 4) if self.n else 0.0,
                "f1": round(self.f1 / self.n, 4) if self.n else 0.0, "n": self.n}
