"""``--self-test``: one real turn through the whole memory loop in a throw-away data directory.

It proves an install or a bundle works end to end without a display: the model loads, a passage
is embedded into archival memory, a message is stored, memory is paged in, the model replies, and
both searches find what was stored. The report goes to a stream (the caller's stdout).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence, TextIO

from engine.agent.settings import AgentSettings
from engine.events import ContextEvent, DoneEvent, MemoryEvent, TurnEvent
from engine.runtime.model import GREEDY
from engine.runtime.settings import RuntimeSettings

PASSAGE = "The spare key to the garden shed is under the blue flower pot."
MESSAGE = "Hello, I am Ada. Where did I leave the spare key to the shed?"
SELF_TEST_SETTINGS = AgentSettings(max_steps=2, max_message_chars=120, reply_reserve_tokens=160,
                                   summarise_with_model=False, sampling=GREEDY)


class SelfTestFailure(Exception):
    """A step ran but did not do what it must."""


@dataclass
class TurnReport:
    """What the turn's events said."""

    stored_id: int | None = None
    paged_in: int = 0
    evaluated_tokens: int = 0
    done: DoneEvent | None = None
    kinds: list[str] = field(default_factory=list)

    def take(self, event: TurnEvent) -> None:
        if isinstance(event, MemoryEvent):
            self.kinds.append(event.kind)
            if event.kind == "message_stored":
                self.stored_id = event.payload["message_id"]
            elif event.kind == "page_in":
                self.paged_in = len(event.payload["hits"])
        elif isinstance(event, ContextEvent):
            self.evaluated_tokens += event.evaluated_tokens
        elif isinstance(event, DoneEvent):
            self.done = event


ExtraStep = tuple[str, Callable[[], str]]


def run_self_test(out: TextIO, model_path: Path | None = None, n_ctx: int = 2048,
                  extra_steps: Sequence[ExtraStep] = ()) -> int:
    """Run the check and write a short report to ``out``; 0 when every step passed, else 1.

    ``extra_steps`` are the front end's own checks (the desktop's platform and window), run after
    the engine's; each returns a line of detail or raises to fail the test.
    """
    started = time.perf_counter()
    out.write("llmos self-test\n")
    try:
        with tempfile.TemporaryDirectory(prefix="llmos-selftest-") as tmp:
            _run(Path(tmp), out, model_path, n_ctx)
        for label, action in extra_steps:
            _step(out, label, action, str)
    except Exception as exc:  # any failure is one clear line and a non-zero exit
        first = (str(exc).splitlines() or [""])[0][:300]
        out.write(f"FAILED: {type(exc).__name__}: {first}\n")
        out.flush()
        return 1
    out.write(f"OK ({time.perf_counter() - started:.1f} s)\n")
    out.flush()
    return 0


def _run(tmp: Path, out: TextIO, model_path: Path | None, n_ctx: int) -> None:
    from engine.api import Engine

    from engine.runtime.model_file import ensure_embedded_model

    # The embedded model is assembled once into the user cache (or lies in the bundle); KV states
    # of this throw-away conversation go to the temporary cache.
    model = _step(out, "find model", lambda: model_path or ensure_embedded_model())
    settings = RuntimeSettings(model_path=model, n_ctx=n_ctx, seed=1)
    engine = _step(out, "open memory", lambda: Engine(tmp / "data", settings, cache_dir=tmp / "cache",
                                                      agent_settings=SELF_TEST_SETTINGS))
    try:
        runtime = _step(out, "load model", engine.load_model)
        out.write(f"  model: {runtime.name} ({runtime.model_file.path.name}, "
                  f"{runtime.model_file.size / 2**20:.0f} MiB, n_ctx {runtime.n_ctx})\n")
        _step(out, "archival insert (embedding)", lambda: engine.insert_passage(PASSAGE, source="self-test"))
        report = _step(out, "turn (store, page in, reply)", lambda: _turn(engine))
        _write_turn(out, report)
        _step(out, "archival search", lambda: _must_find(engine, "spare key shed", "archival"), _hits)
        _step(out, "recall search", lambda: _must_find(engine, "Ada", "recall"), _hits)
    finally:
        engine.close()


def _step(out: TextIO, label: str, action: Callable, describe: Callable[[object], str] = lambda _: ""):
    """Run one step, timed; a failure names the step."""
    started = time.perf_counter()
    try:
        result = action()
    except Exception as exc:
        raise SelfTestFailure(f"{label}: {(str(exc).splitlines() or [type(exc).__name__])[0]}") from exc
    detail = describe(result)
    out.write(f"  {label}: {1000 * (time.perf_counter() - started):.0f} ms{', ' + detail if detail else ''}\n")
    out.flush()
    return result


def _turn(engine) -> TurnReport:
    report = TurnReport()
    for event in engine.send(MESSAGE):
        report.take(event)
    if report.stored_id is None or "page_in" not in report.kinds:
        raise SelfTestFailure(f"the turn did not store and page in (events: {report.kinds})")
    if report.done is None:
        raise SelfTestFailure("the turn ended without a reply event")
    stored = engine.message(report.stored_id)
    if stored.content != MESSAGE:
        raise SelfTestFailure("the stored message differs from what was sent")
    return report


def _write_turn(out: TextIO, report: TurnReport) -> None:
    done = report.done
    reply = " ".join(done.reply.split())[:100]
    out.write(f"  turn: message {report.stored_id} stored, {report.paged_in} memories paged in, "
              f"{report.evaluated_tokens} prompt tokens evaluated, {done.generated_tokens} tokens generated "
              f"({done.tokens_per_second:.1f} tok/s), stop: {done.stop_reason}\n")
    out.write(f"  reply: {reply!r}\n")


def _must_find(engine, query: str, tier: str) -> int:
    page = engine.search(query, tier=tier)
    if not page.items:
        raise SelfTestFailure(f"{tier} search for {query!r} found nothing")
    return len(page.items)


def _hits(count: object) -> str:
    return f"{count} hit{'s' if count != 1 else ''}"
