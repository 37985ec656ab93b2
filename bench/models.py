"""Prompt and decode speed of every embedded model on this machine, and the cost of a grammar.

For each model: prompt evaluation (tokens/s over a ~500-token prompt), plain decode, and decode
under the memory protocol's grammar with llmos's sampler (the grammar checked on the drawn
token first) against llama-cpp-python's own grammar-first sampler, in the same run. Medians
of ``--runs`` runs. These are the figures the settings' model list quotes.

    python bench/models.py [--runs 3] [--tokens 48] [--models ID,ID] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.agent.functions import function_specs  # noqa: E402
from engine.agent.step_plan import StepGrammars  # noqa: E402
from engine.memory.types import CoreBlock  # noqa: E402
from engine.runtime.embedded_models import EMBEDDED_MODELS  # noqa: E402
from engine.runtime.model import GREEDY, GenerationStats, ModelRuntime  # noqa: E402
from engine.runtime.settings import RuntimeSettings  # noqa: E402

TEXT = ("The lighthouse keeper wrote down every ship that passed, the weather, the colour of the sea "
        "and the birds that rested on the railing. ") * 12
ASK = "Hi! My name is Ada and I live in Lisbon. Tell me a long story about the sea."


def prompt_speed(runtime: ModelRuntime, tokens: list[int]) -> float:
    runtime.llama.reset()
    start = time.perf_counter()
    runtime.llama.eval(tokens)
    return len(tokens) / (time.perf_counter() - start)


def decode_speed(runtime: ModelRuntime, prompt: list[int], n: int, grammar) -> float:
    runtime.llama.reset()
    stats = GenerationStats()
    for _ in runtime.stream(prompt, max_tokens=n, sampling=GREEDY, grammar=grammar, stats=stats):
        pass
    return stats.tokens_per_second


def measure(model_id: str, runs: int, n: int) -> dict:
    runtime = ModelRuntime(RuntimeSettings(model_path=model_id, n_ctx=2048))
    try:
        fmt = runtime.chat_format
        long_prompt = runtime.bos_tokens + runtime.tokenize(fmt.render("user", TEXT))
        ask = runtime.bos_tokens + runtime.tokenize(fmt.render("user", ASK) + fmt.generation_prompt)
        specs = function_specs()
        blocks = [CoreBlock(1, "human", "Name: Ada.\nLives in Lisbon.", 2000, 1)]
        grammar = StepGrammars(runtime, specs).grammar(tuple(specs), blocks)
        prompt = [prompt_speed(runtime, long_prompt) for _ in range(runs)]
        plain = [decode_speed(runtime, ask, n, None) for _ in range(runs)]
        ours = [decode_speed(runtime, ask, n, grammar) for _ in range(runs)]
        stock_init = runtime.llama._plain_init_sampler
        runtime.llama._init_sampler = stock_init  # llama-cpp-python's grammar-first chain
        stock = [decode_speed(runtime, ask, n, grammar) for _ in range(runs)]
    finally:
        runtime.close()
    med = statistics.median
    return {"model": model_id, "prompt_tokens": len(long_prompt), "prompt_tok_s": round(med(prompt), 1),
            "decode_tok_s": round(med(plain), 1), "grammar_decode_tok_s": round(med(ours), 1),
            "stock_grammar_decode_tok_s": round(med(stock), 1),
            "grammar_speedup": round(med(ours) / med(stock), 2) if med(stock) else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--models", default=",".join(m.id for m in EMBEDDED_MODELS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(model_id, args.runs, args.tokens) for model_id in args.models.split(",")]
    print(json.dumps({"results": results}) if args.json else json.dumps({"results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
