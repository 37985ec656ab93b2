"""Prompt work per turn for one scripted conversation, paged five ways.

Ways: ``naive`` (re-evaluate the whole window every turn), ``prefix`` (keep the longest common
prefix, as llama-server does) and the KV pager's ``fast``, ``window`` and ``exact`` modes. Every
way sees the same segment lists; replies are forced (their fixed tokens are evaluated, not
sampled), so every run does identical work. Prompt work is everything but the reply: bringing
the cache in line plus the generation prompt. Also: time to first token after a restart with and
without a saved state, and how often ``fast``/``window`` pick the same next token as ``exact``.

    python bench/paging.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.runtime.kv_ops import SequenceCache  # noqa: E402
from engine.runtime.kv_pager import DEFAULT_WINDOW, KVPager  # noqa: E402
from engine.runtime.kv_state import shared_prefix  # noqa: E402
from engine.runtime.model import GREEDY, ModelRuntime  # noqa: E402
from engine.runtime.segment import Segment  # noqa: E402
from engine.runtime.settings import DEFAULT_PAGING_MODE, RuntimeSettings  # noqa: E402

log = logging.getLogger("bench.paging")

TOPICS = ["the garden", "a trip to Lisbon", "learning the cello", "the bakery order", "a sore knee",
          "the tax forms", "a birthday present for Ana", "the leaking roof", "chess openings",
          "the book club", "a job interview", "the cat's diet", "solar panels", "a night hike"]
USER = ("Turn {n}. I keep thinking about {topic}. Yesterday I spent two hours on it and I am still "
        "not sure what to do next; what would you suggest, given what you know about me?")
REPLY = ("About {topic}: start small, write down the one next step, and do it tomorrow morning. "
         "You told me you prefer short plans, so keep it to three items and check back on turn {m}.")
SYSTEM = ("You are a helpful assistant with a long-term memory. Core memory below is always "
          "visible; older messages are summarised; use the memory functions to save what matters. ") * 3
PERSONA = "Persona: calm, practical, remembers details, asks one question at a time, never rushes."
HUMAN = ["Human: Maria, 41, lives in Porto, works as a nurse, plays the cello, has a cat called Figo.",
         "Human: Maria, 41, lives in Porto, works night shifts as a nurse, plays the cello, cat Figo.",
         "Human: Maria, 41, Porto, nurse on night shifts, cello on weekends, cat Figo, sore left knee.",
         "Human: Maria, 42 since May, Porto, nurse on nights, cello, cat Figo, knee better, new roof."]
SUMMARY = "Summary (v{v}): Maria has talked about {topics}; she likes short plans and follow-ups."
RECALLED = "Recalled: Maria said the bakery order is every Friday and Ana's birthday is in June."


@dataclass(frozen=True)
class Turn:
    kind: str  # "steady", "evict" or "edit"
    segments: tuple[Segment, ...]
    reply: tuple[int, ...]


@dataclass
class Record:
    kind: str
    evaluated: int
    prompt_ms: float
    new_tokens: int
    choices: tuple[int, ...]


@dataclass
class Way:
    name: str
    records: list[Record] = field(default_factory=list)


def script(runtime: ModelRuntime, n_ctx: int, turns: int, edit_fills: tuple[float, ...]) -> list[Turn]:
    """The fixed conversation: evict to ~50 % at 100 %; edit core:human on the first turn the window
    reaches each of ``edit_fills`` (shares of n_ctx), so edits meet the window at the fills a long
    conversation lives in (between half full, after an eviction, and full)."""
    def seg(key, role, text):
        return Segment(key, tuple(runtime.tokenize(runtime.chat_format.render(role, text))))

    head = {"system": seg("system", "system", SYSTEM), "persona": seg("core:persona", "system", PERSONA),
            "human": seg("core:human", "system", HUMAN[0]), "summary": seg("summary", "system", SUMMARY.format(v=0, topics="nothing yet")),
            "recalled": seg("recalled", "system", RECALLED)}
    bos = Segment("bos", tuple(runtime.bos_tokens))
    messages: list[Segment] = []
    out, version, edited = [], 0, 0
    reserve = 160
    for n in range(turns):
        topic = TOPICS[n % len(TOPICS)]
        messages.append(seg(f"user{n}", "user", USER.format(n=n, topic=topic)))
        kind = "steady"
        size = lambda: len(bos.tokens) + sum(len(s.tokens) for s in [*head.values(), *messages])  # noqa: E731
        if size() + reserve > n_ctx:
            version += 1
            while size() > n_ctx // 2:
                messages.pop(0)
            head["summary"] = seg("summary", "system", SUMMARY.format(v=version, topics=", ".join(TOPICS[:n % 9 + 3])))
            kind = "evict"
        elif edited < len(edit_fills) and size() >= edit_fills[edited] * n_ctx:
            edited += 1
            head["human"] = seg("core:human", "system", HUMAN[edited % len(HUMAN)])
            kind = "edit"
        reply = tuple(runtime.tokenize(REPLY.format(topic=topic, m=n + 3)))
        out.append(Turn(kind, (bos, *head.values(), *messages), reply))
        messages.append(Segment(f"reply{n}", tuple(runtime.tokenize(runtime.chat_format.generation_prompt))
                                     + reply + tuple(runtime.tokenize(runtime.chat_format.suffixes["assistant"]))))
    return out


def reset(runtime: ModelRuntime, cache: SequenceCache) -> None:
    cache.clear()
    runtime.llama.n_tokens = 0


def record_tokens(runtime: ModelRuntime, tokens) -> None:
    """What ``Llama.eval`` would note after evaluating ``tokens`` in one go."""
    llama, n = runtime.llama, len(tokens)
    llama.input_ids[:n] = tokens
    llama.n_tokens = n


def run_way(runtime: ModelRuntime, name: str, turns: list[Turn], gen: tuple[int, ...], state_dir: Path,
            window: int) -> tuple[Way, KVPager | None]:
    cache = SequenceCache(runtime.llama)
    reset(runtime, cache)
    pager = KVPager(runtime, mode=name, window=window, state_dir=state_dir) if name in ("fast", "window", "exact") else None
    way, previous = Way(name), ()
    for turn in turns:
        target = tuple(t for s in turn.segments for t in s.tokens)
        prompt = target + gen
        start = time.perf_counter()
        if pager is not None:
            evaluated = pager.sync((*turn.segments, Segment("generation", gen))).evaluated
        else:
            keep = 0 if name == "naive" else shared_prefix(runtime.llama.input_ids[:runtime.llama.n_tokens], prompt)
            cache.drop(keep) if keep else reset(runtime, cache)
            cache.evaluate_at(prompt[keep:], keep)
            evaluated = len(prompt) - keep
        prompt_ms = (time.perf_counter() - start) * 1000
        logits = pager.next_logits() if pager is not None else cache.last_logits()  # logits of the decode that made them
        choices = (int(logits.argmax()), *cache.evaluate_choosing_at(turn.reply, len(prompt)))
        record_tokens(runtime, prompt + turn.reply)
        kind = "first" if not previous else turn.kind
        way.records.append(Record(kind, evaluated, prompt_ms, len(prompt) - shared_prefix(previous, prompt), choices))
        previous = prompt + turn.reply
        log.info("%-6s %-6s evaluated %5d  prompt %8.1f ms", name, turn.kind, evaluated, prompt_ms)
    cache.close()
    return way, pager


def resume_times(runtime: ModelRuntime, pager: KVPager, turn: Turn, gen: tuple[int, ...]) -> dict:
    """Time to first token after a restart, with and without the saved state."""
    pager.save(turn.segments)
    target = tuple(t for s in turn.segments for t in s.tokens)
    results = {}
    for label in ("with_state", "without_state"):
        runtime.llama.reset()
        pager.cache.clear()
        start = time.perf_counter()
        if label == "with_state" and not pager.restore(turn.segments):
            raise RuntimeError("the saved state was not restored")
        next(iter(runtime.stream(list(target + gen), max_tokens=1, sampling=GREEDY)), None)
        results[f"ttft_ms_{label}"] = round((time.perf_counter() - start) * 1000, 1)
    return results


NOTES = ["The spare house key is under the blue flowerpot by the back door.",
         "Maria's cello teacher is called Mr Alves; lessons are on Thursdays at six.",
         "The cat Figo eats the salmon kibble, half a cup in the morning and half at night.",
         "The roof was repaired in March by Telhados Silva; the warranty runs for five years."]
QUESTIONS = ["Where is the spare house key?", "When are my cello lessons?", "How much does Figo eat?",
             "Who repaired the roof?"]


def engine_resume(settings: RuntimeSettings, turns: int) -> dict:
    """Resume as the product does it: an Engine answers ``turns`` questions that page archival
    notes in, closes; a new Engine puts the window back (``Engine.resume``, as the app does once
    the model is loaded) and answers one more, once with the saved KV state and once with the
    state files removed. The verdict compares the two resumes (wall time, state file read
    included); the next turn's first step is reported beside them."""
    from engine.agent.settings import AgentSettings
    from engine.api import Engine
    from engine.events import ContextEvent, MemoryEvent

    one_step = AgentSettings(max_steps=1, summarise_with_model=False, sampling=GREEDY)
    out: dict = {}
    with tempfile.TemporaryDirectory() as root:
        data, cache = Path(root) / "data", Path(root) / "cache"
        engine = Engine(data, settings, cache_dir=cache, agent_settings=one_step)
        for note in NOTES:
            engine.insert_passage(note)
        paged_in = 0
        for question in QUESTIONS[:turns]:
            for event in engine.send(question):
                if isinstance(event, MemoryEvent) and event.kind == "page_in":
                    paged_in += bool(event.payload["hits"])
        engine.close()
        out["turns_that_paged_in"] = paged_in
        snapshot = Path(root) / "data-before"
        shutil.copytree(data, snapshot)
        for label in ("with_state", "without_state"):
            if label == "without_state":  # the same conversation, with no saved state to resume from
                for path in (cache / "kv").glob("*.kvstate"):
                    path.unlink()
                shutil.rmtree(data)
                shutil.copytree(snapshot, data)
            engine = Engine(data, settings, cache_dir=cache, agent_settings=one_step)
            engine.load_model()
            engine.warm_up()  # as the app does before the first turn
            start = time.perf_counter()
            resumed = engine.resume()
            resume_ms = (time.perf_counter() - start) * 1000
            events = list(engine.send("Thanks. And what colour is the flowerpot?"))
            first = next(e for e in events if isinstance(e, ContextEvent))
            out[label] = {"resume_ms": round(resume_ms, 1), "resume_evaluated_tokens": resumed.evaluated_tokens,
                          "window_tokens": resumed.total_tokens,
                          "next_turn": {"prompt_ms": round(first.prompt_ms, 1), "evaluated_tokens": first.evaluated_tokens,
                                        "reused_tokens": first.reused_tokens, "total_tokens": first.total_tokens}}
            engine.close()
    out["ratio"] = round(out["with_state"]["resume_ms"] / out["without_state"]["resume_ms"], 3)
    return out


def summary(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def figures(way: Way) -> dict:
    out = {}
    for kind in ("first", "steady", "evict", "edit"):
        rows = [r for r in way.records if r.kind == kind]
        out[kind] = {"turns": len(rows), "eval_tokens": summary([r.evaluated for r in rows]),
                     "prompt_ms": summary([r.prompt_ms for r in rows])}
    return out


def median_of(way: Way, kind: str, attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in way.records if r.kind == kind)


def agreement(way: Way, exact: Way) -> float:
    """Share of positions (the reply's first token, then each forced reply token) where the
    top token equals ``exact``'s."""
    pairs = [(a, b) for r, e in zip(way.records, exact.records) for a, b in zip(r.choices, e.choices)]
    return round(sum(a == b for a, b in pairs) / len(pairs), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns (the same window, so the same verdicts)")
    parser.add_argument("--model", default=None,
                        help="an embedded model's id or a GGUF file (default: the default embedded model)")
    parser.add_argument("--ways", default=",".join(WAYS),
                        help=f"ways to run, from {','.join(WAYS)} (fast, prefix and exact are always run)")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="the window mode's re-evaluation window")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    # A 4k window, where a re-prefill of the default model costs about a minute on 2 cores. Quick:
    # the three edits and the first eviction; full: on to a second eviction.
    n_ctx, turns, edits = (4096, 52, EDIT_FILLS) if args.quick else (4096, 80, EDIT_FILLS)
    settings = RuntimeSettings(model_path=model_file(args.model), n_ctx=n_ctx, seed=1)
    runtime = ModelRuntime(settings)
    gen = tuple(runtime.tokenize(runtime.chat_format.generation_prompt))
    conversation = script(runtime, n_ctx, turns, edits)
    ways, pagers = {}, {}
    with tempfile.TemporaryDirectory() as state_dir:
        chosen = set(args.ways.split(",")) | {"prefix", "exact", DEFAULT_PAGING_MODE}
        for name in [w for w in WAYS if w in chosen]:
            ways[name], pagers[name] = run_way(runtime, name, conversation, gen, Path(state_dir), args.window)
        resume = resume_times(runtime, pagers[DEFAULT_PAGING_MODE], conversation[-1], gen)
    runtime.close()
    result = report(ways, resume, n_ctx, turns, args.window)
    result["model"] = Path(settings.model_path).name
    result["engine_resume"] = engine_resume(settings.with_changes(n_ctx=4096), turns=4 if not args.quick else 3)
    result["verdicts"] = verdicts(result)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


WAYS = ("naive", "prefix", "exact", "window", "fast")
EDIT_FILLS = (0.5, 0.7, 0.9)
TARGETS = {"evict_prompt_ms_vs_prefix": 0.15, "edit_prompt_ms_vs_prefix": 0.08, "resume_through_engine": 0.05}
"""Most a fast-mode turn may cost against the prefix-caching way, and a resume through the
Engine against a re-prefill of the same window."""


def verdicts(result: dict) -> dict:
    measured = {**result["ratios"], "resume_through_engine": result["engine_resume"]["ratio"]}
    return {name: {"ratio": measured[name], "target": limit, "met": measured[name] <= limit}
            for name, limit in TARGETS.items()}


def model_file(choice: str | None) -> str:
    """A GGUF path for ``choice`` (an embedded model is assembled into the cache once)."""
    from engine.runtime.embedded_models import find_embedded
    from engine.runtime.model_file import ensure_embedded_model

    embedded = find_embedded(choice) if choice else None
    if choice and embedded is None:
        return choice
    return str(ensure_embedded_model(model=embedded))


def report(ways: dict[str, Way], resume: dict, n_ctx: int, turns: int, window: int) -> dict:
    ours, prefix = ways[DEFAULT_PAGING_MODE], ways["prefix"]
    steady = [r.evaluated / r.new_tokens for r in ours.records if r.kind == "steady" and r.new_tokens]
    return {
        "n_ctx": n_ctx, "turns": turns, "window": window,
        "ways": {name: figures(way) for name, way in ways.items()},
        "resume": resume,
        "default_mode": DEFAULT_PAGING_MODE,
        "ratios": {
            "evict_prompt_ms_vs_prefix": round(median_of(ours, "evict", "prompt_ms") / median_of(prefix, "evict", "prompt_ms"), 3),
            "edit_prompt_ms_vs_prefix": round(median_of(ours, "edit", "prompt_ms") / median_of(prefix, "edit", "prompt_ms"), 3),
            "steady_eval_tokens_vs_new": round(statistics.median(steady), 3),
            "resume_vs_reprefill": round(resume["ttft_ms_with_state"] / resume["ttft_ms_without_state"], 3),
        },
        "agreement": {name: agreement(ways[name], ways["exact"]) for name in ("fast", "window") if name in ways},
    }


if __name__ == "__main__":
    raise SystemExit(main())
