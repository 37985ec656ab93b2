"""Time to the first streamed reply token through ``llmos serve`` against the same turns in-process.

Two fresh data folders get the same messages in the same order, greedy steps, one model: first
an ``Engine`` in this process (time from ``send`` to the first reply token), then a real
``llmos serve`` process on loopback driven by the ``openai`` client with ``stream=True`` (time from
the request to the first content chunk). The ratio is what the HTTP layer, the worker queue and
the server-sent events cost a client. Target: server <= 1.05x in-process + 20 ms.

    python bench/server.py [--model ID_OR_GGUF] [--turns 6] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.api import Engine, RuntimeSettings, TokenEvent  # noqa: E402

MESSAGES = ["Hi! I'm Ada and I live in Lisbon.", "I work as a potter and fire bowls in a small kiln.",
            "My sister Ingrid moved to Tromsø last spring.", "What do you remember about my family?",
            "I'm allergic to peanuts, please keep that in mind.", "Where do I live, and what is my job?",
            "Tell me one thing you know about me.", "Thanks, that is all for today."]


def in_process(data: Path, cache: Path, settings: RuntimeSettings, turns: int) -> list[float]:
    engine = Engine(data, settings, cache_dir=cache)
    try:
        engine.load_model()
        engine.warm_up()
        firsts = []
        for text in MESSAGES[:turns]:
            start, first = time.perf_counter(), None
            for event in engine.send(text):
                if first is None and isinstance(event, TokenEvent) and event.text:
                    first = time.perf_counter() - start
            firsts.append(1000 * (first if first is not None else time.perf_counter() - start))
        return firsts
    finally:
        engine.close()


def through_server(data: Path, cache: Path, model: str | None, n_ctx: int, turns: int) -> list[float]:
    from openai import OpenAI

    command = [sys.executable, "-m", "engine.cli", "serve", "--data-dir", str(data), "--port", "0",
               "--n-ctx", str(n_ctx), *(["--model", model] if model else [])]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", "LLMOS_CACHE_DIR": str(cache)})
    try:
        line = server.stdout.readline()
        if not line.startswith("llmos serve: http://"):
            raise SystemExit(f"the server did not start: {line!r}")
        token = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--data-dir", str(data), "--show-token"],
                               capture_output=True, text=True, cwd=ROOT).stdout.strip()
        client = OpenAI(base_url=line.split()[2], api_key=token, max_retries=0, timeout=600)
        client.embeddings.create(model="all-MiniLM-L6-v2", input="warm up")  # as warm_up() in-process
        firsts = []
        for text in MESSAGES[:turns]:
            start, first = time.perf_counter(), None
            for chunk in client.chat.completions.create(model="default", stream=True,
                                                        messages=[{"role": "user", "content": text}]):
                if first is None and chunk.choices and chunk.choices[0].delta.content:
                    first = time.perf_counter() - start
            firsts.append(1000 * (first if first is not None else time.perf_counter() - start))
        return firsts
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


def model_file(choice: str | None) -> str:
    """A GGUF path for ``choice`` (an embedded model is assembled into the user cache once)."""
    from engine.runtime.embedded_models import find_embedded
    from engine.runtime.model_file import ensure_embedded_model

    embedded = find_embedded(choice) if choice else None
    if choice and embedded is None:
        return choice
    return str(ensure_embedded_model(model=embedded))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="an embedded model's id or a GGUF (default: the default model)")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmos-bench-server-") as tmp:
        tmp = Path(tmp)
        model = model_file(args.model)  # a file path: each way's own cache holds only its KV states
        settings = RuntimeSettings(model_path=model, n_ctx=args.n_ctx)
        local = in_process(tmp / "local", tmp / "cache-local", settings, args.turns)
        served = through_server(tmp / "served", tmp / "cache-served", model, args.n_ctx, args.turns)
    local_ms, served_ms = statistics.median(local), statistics.median(served)
    result = {"turns": args.turns, "model": args.model or "default",
              "in_process_first_token_ms": {"median": round(local_ms, 1), "each": [round(x) for x in local]},
              "server_first_token_ms": {"median": round(served_ms, 1), "each": [round(x) for x in served]},
              "ratio": round(served_ms / local_ms, 3), "overhead_ms": round(served_ms - local_ms, 1),
              "target_met": served_ms <= 1.05 * local_ms + 20}
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
