"""How right an answer is, scored as LoCoMo's own evaluation scores it, and as later papers do.

LoCoMo's F1 (Maharana et al., 2024): lower case, commas, punctuation and articles dropped, each
token Porter-stemmed; multi-hop answers are lists, so prediction and gold are split on commas
and each gold part takes its best-matching predicted part; open-domain golds keep the part
before a ";". The plain F1 (no stemming, no splitting) sits beside it for comparison with papers
that report that. An adversarial question (category 5) has no answer in the conversation: it
scores 1 when the reply declines.
"""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

ARTICLES = re.compile(r"\b(a|an|the|and)\b")
PUNCTUATION = set(string.punctuation)
MULTI_HOP, OPEN_DOMAIN, ADVERSARIAL = "1", "3", "5"
DECLINES = ("not mentioned", "no information", "not available", "don't know", "do not know", "unknown",
            "not say", "not stated", "no mention")
SCORING = ("LoCoMo F1: lower case, no punctuation or articles, Porter-stemmed tokens; multi-hop answers split "
           "on commas and scored per part; f1_plain: the same without stemming or splitting")


def normalise(text: str) -> list[str]:
    """Tokens after the usual normalisation: lower case, no punctuation, no articles."""
    text = "".join(ch for ch in str(text).lower() if ch not in PUNCTUATION)
    return ARTICLES.sub(" ", text).split()


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=65536)
def _stem(token: str) -> str:
    return _stemmer().stem(token)


def _f1(pred: list[str], gold: list[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def plain_f1(prediction: str, gold: str) -> float:
    return _f1(normalise(prediction), normalise(gold))


def stemmed_f1(prediction: str, gold: str) -> float:
    stem = lambda text: [_stem(t) for t in normalise(text.replace(",", ""))]
    return _f1(stem(prediction), stem(gold))


def locomo_f1(prediction: str, gold: str, category: str) -> float:
    """LoCoMo's F1 for one answer of ``category`` ("1".."4")."""
    gold = str(gold)
    if category == OPEN_DOMAIN:
        gold = gold.split(";")[0]
    if category != MULTI_HOP:
        return stemmed_f1(prediction, gold)
    predicted = [p.strip() for p in prediction.split(",")]
    parts = [g.strip() for g in gold.split(",")]
    return sum(max(stemmed_f1(p, g) for p in predicted) for g in parts) / len(parts)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalise(prediction) == normalise(gold))


def declines(prediction: str) -> bool:
    """Whether a reply says the memory does not hold the answer."""
    text = prediction.lower().replace("\u2019", "'")
    return any(phrase in text for phrase in DECLINES)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


@dataclass
class AnswerTally:
    """Scores, times and prompt sizes of the answered questions of one category (or all)."""

    f1: list[float] = field(default_factory=list)
    f1_plain: list[float] = field(default_factory=list)
    em: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    def add(self, category: str, question: str, prediction: str, gold: str, seconds: float,
            prompt_tokens: int, told_by: str | None = None, check: str = "") -> None:
        if category == ADVERSARIAL:
            score = plain = em = float(declines(prediction))
        else:
            score, plain, em = locomo_f1(prediction, gold, category), plain_f1(prediction, gold), exact_match(prediction, gold)
        self.f1.append(score)
        self.f1_plain.append(plain)
        self.em.append(em)
        self.seconds.append(seconds)
        self.prompt_tokens.append(prompt_tokens)
        record = {"category": category, "question": question, "answer": gold, "prediction": prediction,
                  "f1": round(score, 3), "seconds": round(seconds, 2), "prompt_tokens": prompt_tokens}
        if told_by:
            record["told_by"], record["check"] = told_by, check
        self.records.append(record)
        if len(self.samples) < 5:
            self.samples.append({k: record[k] for k in ("question", "answer", "prediction", "f1")})

    def merge(self, other: "AnswerTally") -> None:
        for name in ("f1", "f1_plain", "em", "seconds", "prompt_tokens", "records"):
            getattr(self, name).extend(getattr(other, name))

    def report(self) -> dict:
        n = len(self.f1)
        if not n:
            return {"n": 0}
        mean = lambda xs: round(sum(xs) / n, 4)
        return {"f1": mean(self.f1), "f1_plain": mean(self.f1_plain), "exact_match": mean(self.em), "n": n,
                "median_s": round(statistics.median(self.seconds), 2), "p95_s": round(_percentile(self.seconds, 0.95), 2),
                "median_prompt_tokens": int(statistics.median([t for t in self.prompt_tokens if t] or [0]))}

    def told_by_others(self, check: str) -> int:
        """How many ``check`` declined as someone else's telling (engine/eval/answers.py)."""
        return sum(1 for r in self.records if r.get("told_by") and r.get("check") == check)

    def declined_report(self) -> dict:
        """For adversarial questions: the share correctly declined."""
        n = len(self.f1)
        return {"declined": round(sum(self.f1) / n, 4) if n else 0.0, "n": n,
                "median_s": round(statistics.median(self.seconds), 2) if n else 0.0}
