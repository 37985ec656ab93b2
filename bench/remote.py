"""Prompt tokens an inference server evaluates per turn, against the tokens new to its prompt.

With generation on a server, the KV pager is not used: the server's prefix cache must keep what
the pager would have kept. This runs a scripted conversation through an ``Engine`` whose
generation runs on a server, and for every request (a model step) counts the prompt's **new
tokens** (its length minus the longest common prefix with the previous request's prompt: what
an ideal prefix cache evaluates) and the tokens the server says it **evaluated**. Per turn they
are summed; a steady turn (no eviction, no core edit) should evaluate at most 1.3x its new
tokens, so a remote turn does not re-read the window.

Where the evaluated count comes from: llama-server's ``timings.prompt_n``; vLLM's usage
(``prompt_tokens - prompt_tokens_details.cached_tokens``, with ``--enable-prompt-tokens-details``);
llama_cpp.server reports none over HTTP, so for the server this script starts itself it reads
the server's own log ("N prefix-match hit, remaining M prompt tokens to eval" and
``llama_perf_context_print``'s "prompt eval time = ... / M tokens").

    python bench/remote.py                       # starts llama_cpp.server on the small test model
    python bench/remote.py --model smollm2-135m-instruct --turns 10 --json
    python bench/remote.py --server http://gpu-box:8080 [--server-model NAME] [--api-key-env VAR]
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.agent.settings import AgentSettings  # noqa: E402
from engine.api import Engine, RuntimeSettings  # noqa: E402
from engine.events import MemoryEvent, MemoryKind  # noqa: E402
from engine.runtime.kv_state import shared_prefix  # noqa: E402
from engine.runtime.model import GenerationStats  # noqa: E402

TARGET = 1.3
MESSAGES = ["Hi! I'm Ada and I live in Lisbon.", "I work as a potter and fire bowls in a small kiln.",
            "My sister Ingrid moved to Tromsø last spring.", "What do you remember about my family?",
            "I'm allergic to peanuts, please keep that in mind.", "Where do I live, and what is my job?",
            "Tell me one thing you know about me.", "My cat Miso likes to sleep on the kiln shelf.",
            "I'm planning a trip to Porto in June.", "What should I pack for Porto?",
            "Remind me what my sister does these days.", "Thanks, that is all for today."]
PERF = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
PREFIX = re.compile(r"(\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")


@dataclass
class Step:
    prompt: list[int]
    evaluated: int | None


class ServerLog:
    """The log of a llama_cpp.server this script started: what it evaluated for each request."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def evaluated(self, wait_s: float = 5.0) -> int | None:
        """Prompt tokens evaluated by the request that just ended (its perf line may trail the reply)."""
        deadline = time.monotonic() + wait_s
        while True:
            text = self.path.read_text(errors="replace")[self.offset:]
            perf = PERF.search(text)
            if perf or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.offset += (perf.end() if perf else len(text))
        prefix = PREFIX.search(text)
        return int(prefix.group(2)) if prefix else int(perf.group(1)) if perf else None


def start_llama_cpp_server(model: str, n_ctx: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    from engine.runtime.model_file import resolve_model

    path = resolve_model(model).path
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "1"],
                               stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited; see {log_path}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("llama_cpp.server did not start")


def record_steps(engine: Engine, log: ServerLog | None) -> list[Step]:
    """Every request the engine sends, with what the server evaluated for it."""
    runtime, steps = engine.load_model(), []
    original = runtime.stream

    def stream(prompt_tokens, **kwargs):
        stats = kwargs.setdefault("stats", GenerationStats())
        yield from original(prompt_tokens, **kwargs)
        evaluated = log.evaluated() if log else (stats.evaluated_prompt_tokens or None)
        steps.append(Step(list(prompt_tokens), evaluated))

    runtime.stream = stream
    return steps


def run(settings: RuntimeSettings, turns: int, log: ServerLog | None) -> dict:
    agent_settings = replace(AgentSettings(), max_steps=2, max_message_chars=160, reply_reserve_tokens=160,
                             summarise_with_model=False)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Path(tmp) / "data", settings, cache_dir=Path(tmp) / "cache", agent_settings=agent_settings)
        try:
            steps = record_steps(engine, log)
            start, rows = datetime(2025, 5, 1, 9, 0), []
            for i in range(turns):
                first = len(steps)
                events = engine.send(MESSAGES[i % len(MESSAGES)], created_at=start + timedelta(minutes=i))
                kinds = {e.kind for e in events if isinstance(e, MemoryEvent)}
                rows.append(_turn_row(i + 1, steps, first, kinds))
            name = engine.runtime.name
        finally:
            engine.close()
    return {"model": name, "server": settings.server_url, "turns": rows, **_summary(rows)}


def _turn_row(turn: int, steps: list[Step], first: int, kinds: set) -> dict:
    new = evaluated = 0
    for k in range(first, len(steps)):
        previous = steps[k - 1].prompt if k > 0 else []
        new += len(steps[k].prompt) - shared_prefix(previous, steps[k].prompt)
        evaluated += steps[k].evaluated if steps[k].evaluated is not None else 0
    known = all(steps[k].evaluated is not None for k in range(first, len(steps)))
    kind = "first" if first == 0 else "eviction" if MemoryKind.EVICTED in kinds else (
        "edit" if MemoryKind.CORE_EDIT in kinds else "steady")
    return {"turn": turn, "kind": kind, "steps": len(steps) - first, "window_tokens": len(steps[-1].prompt),
            "new_tokens": new, "evaluated_tokens": evaluated if known else None,
            "ratio": round(evaluated / new, 3) if known and new else None}


def _summary(rows: list[dict]) -> dict:
    steady = [r for r in rows if r["kind"] == "steady" and r["ratio"] is not None]
    if not steady:
        return {"steady_turns": 0, "verdict": "no steady turn with evaluated counts"}
    ratios = [r["ratio"] for r in steady]
    return {"steady_turns": len(steady), "steady_ratio_median": round(statistics.median(ratios), 3),
            "steady_ratio_max": max(ratios),
            "steady_evaluated_median": statistics.median(r["evaluated_tokens"] for r in steady),
            "steady_window_median": statistics.median(r["window_tokens"] for r in steady),
            "target": TARGET, "verdict": "pass" if max(ratios) <= TARGET else "fail"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="an inference server to use (default: start llama_cpp.server)")
    parser.add_argument("--server-model", default=None)
    parser.add_argument("--api-key-env", default=None)
    parser.add_argument("--model", default="gemma-3-270m",
                        help="for the llama_cpp.server started here: an embedded model's id or a GGUF")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    process, log = None, None
    url = args.server
    if url is None:
        log_path = Path(tempfile.mkdtemp(prefix="llmos-bench-")) / "llama_cpp_server.log"
        process, url = start_llama_cpp_server(args.model, args.n_ctx, log_path)
        log = ServerLog(log_path)
    try:
        settings = RuntimeSettings(server_url=url, server_model=args.server_model, api_key_env=args.api_key_env,
                                   n_ctx=args.n_ctx)
        result = run(settings, args.turns, log)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    if args.json:
        print(json.dumps(result))
    else:
        for row in result["turns"]:
            print(f"turn {row['turn']:2d} {row['kind']:8s} window {row['window_tokens']:5d}  new {row['new_tokens']:5d}"
                  f"  evaluated {row['evaluated_tokens']}  ratio {row['ratio']}")
        print(json.dumps({k: v for k, v in result.items() if k != "turns"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
