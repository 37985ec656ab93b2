"""Decode speed of the engine's generation against plain ``llama_cpp.Llama``, same run.

Both ways use one loaded model with the same settings and greedy sampling, alternate run by
run, and start from an empty KV cache, so they do identical work; the ratio is the wrapper's
cost (streaming, UTF-8 assembly, cancel checks, stop handling).

    python bench/decode.py [--runs 7] [--tokens 128] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.runtime.model import GREEDY, CancelFlag, GenerationStats, ModelRuntime  # noqa: E402
from engine.runtime.settings import RuntimeSettings  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper who collects memories in jars."


def engine_run(runtime: ModelRuntime, prompt: list[int], n: int) -> tuple[int, float]:
    runtime.llama.reset()
    stats = GenerationStats()
    for _ in runtime.stream(prompt, max_tokens=n, sampling=GREEDY, cancel=CancelFlag(), stats=stats):
        pass
    return stats.generated_tokens, stats.tokens_per_second


def raw_run(runtime: ModelRuntime, prompt: list[int], n: int) -> tuple[int, float]:
    llama = runtime.llama
    llama.reset()
    start, first, count = time.perf_counter(), None, 0
    for token in llama.generate(prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.perf_counter()
        if token in runtime.stop_token_ids:
            break
        llama.detokenize([token])
        count += 1
        if count >= n:
            break
    end = time.perf_counter()
    return count, (count - 1) / (end - first)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runtime = ModelRuntime(RuntimeSettings(n_ctx=args.n_ctx))
    fmt = runtime.chat_format
    prompt = runtime.bos_tokens + runtime.tokenize(fmt.render("user", PROMPT) + fmt.generation_prompt)
    engine_run(runtime, prompt, 16), raw_run(runtime, prompt, 16)  # warm-up
    rates = {"engine": [], "raw": []}
    counts = {"engine": [], "raw": []}
    for _ in range(args.runs):
        for way, fn in (("raw", raw_run), ("engine", engine_run)):
            count, rate = fn(runtime, prompt, args.tokens)
            counts[way].append(count)
            rates[way].append(rate)
    medians = {way: statistics.median(values) for way, values in rates.items()}
    result = {
        "model": runtime.name, "n_ctx": runtime.n_ctx, "threads": runtime.settings.threads,
        "runs": args.runs, "tokens_per_run": {w: statistics.median(c) for w, c in counts.items()},
        "decode_tokens_per_s": {w: round(m, 2) for w, m in medians.items()},
        "all_runs": {w: [round(r, 2) for r in v] for w, v in rates.items()},
        "ratio_engine_vs_raw": round(medians["engine"] / medians["raw"], 4),
        "target": ">= 0.95",
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
