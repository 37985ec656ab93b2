"""The model answers a question from what the engine paged in, as briefly as a person would.

Each memory is shown with the day it was said and its relative time phrases resolved
("yesterday (7 May 2023)"), so a "when" question needs no calendar arithmetic from a small
model. The fixed instruction comes first and stays the same for every question: llama.cpp keeps
its KV state, and each question pays only for its memories.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from engine.memory.relative_dates import annotate
from engine.memory.types import Hit
from engine.runtime.model import GREEDY, ModelRuntime

NOT_MENTIONED = "Not mentioned"
TOPIC_CHECK, SOURCE_CHECK = "topic", "source"
"""Declined before the model ran (the topic was told by someone else) or after (so was the answer)."""
INSTRUCTION = ("You answer questions about earlier conversations from the memories you are given. "
               "Each memory says who said it; words in parentheses after a time phrase say when that "
               "phrase meant, and a memory without one ends with the day it was said. Answer in as few "
               "words as possible. If the memories do not answer the question, reply: " + NOT_MENTIONED + ".")
QUESTION = "Memories:\n{memories}\n\nQuestion: {question}\n{shape}Short answer:"
GUESS = r"\b(would|could|might|likely|seems?)\b"
"""A modal verb anywhere in a question asks for an inference ("What job might Maria pursue?"),
not for something the conversation said."""
YES_NO_GUESS = re.compile(r"^(?=.*" + GUESS + r")(?!.*\bor\b)\s*(would|could|might|will|is|are|was|were|does|do|did)\b",
                          re.IGNORECASE)
"""A guess asked as a yes-or-no question ("Would Melanie enjoy Vivaldi?"), not a choice ("... a
national park or a theme park?")."""
GUESS_OPENING = "Likely"
"""How the reply to a yes-or-no guess begins: told to guess, a small model still often replies
that the memories do not say, so its reply is started for it and it goes on with its verdict."""
GUESS_HINT = ("The memories will not say it outright: do not reply Not mentioned, give your best guess in "
              "a few words")
SHAPES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), hint) for p, hint in (
    (r"^\s*(when|what (date|day|month|year|time))\b",
     "Give only the time: copy the words in parentheses after the memory's time phrase (such as: the week "
     "before 3 May 2022), else the day it was said."),
    (r"^\s*how (long|many years|many months|many weeks)\b", "Give only the length of time."),
    (r"^\s*how many\b", "Give only the number."),
    (YES_NO_GUESS.pattern, GUESS_HINT + ", such as \"Likely yes\" or \"Likely no\"."),
    (GUESS, GUESS_HINT + " from what the memories tell about the person."),
    (r"^\s*(what|which|where|who)\b.*\b(activities|things|events|books|places|hobbies|ways|kinds|types|items)\b|"
     r"^\s*(what|which|where|who)\b.*\b(has|have)\b",
     "List each one the memories mention, separated by commas."),
))
"""What a question's first words ask for: a date, a length, a number, a guess or a list. A small
model answers the shape it is told; left to itself it copies a sentence."""
MEMORY_CHARS = 300
PHRASE_THEN_TIME = re.compile(r"^[^()]{0,40}\(([^()]*\d{4}[^()]*)\)$")
"""A reply that is a short time phrase followed by its resolution in parentheses."""


@dataclass(frozen=True)
class Answer:
    text: str
    seconds: float
    prompt_tokens: int
    told_by: str | None = None  # set when declined: the topic was this other person's telling
    check: str = ""  # which check declined it: TOPIC_CHECK or SOURCE_CHECK


def render_memory(hit: Hit) -> str:
    """One memory; when it names its own time ("last week (the week before 7 May 2023)"), that is
    the only date shown: beside the day it was said, a small model picks the plainer date."""
    annotated = annotate(hit.text, hit.created_at)
    flat = " ".join(annotated.split())
    flat = flat if len(flat) <= MEMORY_CHARS else flat[:MEMORY_CHARS].rsplit(" ", 1)[0] + " ..."
    if annotated != hit.text:
        return f"- {hit.name or hit.role}: {flat}"
    return f"- {hit.name or hit.role}: {flat} (said on {hit.created_at.day} {hit.created_at:%B %Y})"


def render_memories(hits: list[Hit]) -> str:
    return "\n".join(render_memory(h) for h in hits)


def asks_for_guess(question: str) -> bool:
    """Whether the question asks what is likely rather than what was said: it is answered from
    what is known of the person, even when someone else told the topic."""
    return re.search(GUESS, question, re.IGNORECASE) is not None


def answer_shape(question: str) -> str:
    """The hint for what form the answer takes, or "" for a plain short answer."""
    return next((hint + "\n" for pattern, hint in SHAPES if pattern.search(question)), "")


def answer_opening(question: str) -> str:
    """The words the reply starts with, written before the model goes on ("" for most questions)."""
    return GUESS_OPENING if YES_NO_GUESS.search(question) else ""


def answer_prompt(runtime: ModelRuntime, question: str, hits: list[Hit], opening: str = "") -> list[int]:
    """The prompt's tokens; ``opening`` is written as the start of the model's reply."""
    fmt = runtime.chat_format
    user = QUESTION.format(memories=render_memories(hits), question=question, shape=answer_shape(question))
    text = (fmt.render("system", INSTRUCTION)
            + fmt.render("user", user)
            + fmt.generation_prompt + opening)
    return runtime.bos_tokens + runtime.tokenize(text)


def answer(runtime: ModelRuntime, question: str, hits: list[Hit], max_tokens: int = 24) -> Answer:
    """The model's short answer to ``question`` given ``hits`` (first line only), with its cost."""
    started = time.perf_counter()
    opening = answer_opening(question)
    prompt = answer_prompt(runtime, question, hits, opening)
    text = opening + runtime.generate_text(prompt, max_tokens=max_tokens, sampling=GREEDY)
    line = text.strip().splitlines()[0].strip(" []\"'.") if text.strip() else ""
    return Answer(resolved_time(line), time.perf_counter() - started, len(prompt))


def resolved_time(line: str) -> str:
    """A reply that copied a time phrase with its resolution ("Friday (the Friday before 3 May
    2022)") keeps the resolution alone: the phrase meant something only on the day it was said."""
    match = PHRASE_THEN_TIME.match(line.strip())
    return match.group(1).strip() if match else line
