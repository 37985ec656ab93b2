"""``llmos eval``: LoCoMo evidence recall and answers, letta-evals core-memory accuracy."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from engine.cli.options import add_runtime_options, runtime_settings
from engine.eval.locomo import ANSWER_MEMORIES


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="evaluate memory")
    benches = parser.add_subparsers(dest="eval_command", metavar="BENCHMARK", required=True)
    locomo = benches.add_parser("locomo", help="LoCoMo evidence recall@k")
    locomo.add_argument("--data", type=Path, required=True, help="LoCoMo JSON file")
    locomo.add_argument("--conversations", default=None, help="comma-separated sample ids (default: all)")
    locomo.add_argument("--k", default="1,5,10,25", help="comma-separated k values")
    locomo.add_argument("--answer", action="store_true",
                        help="also let the model answer from what was paged in (LoCoMo's F1, plain F1, "
                             "exact match, seconds per question; adversarial questions as the share declined)")
    locomo.add_argument("--details", type=Path, default=None,
                        help="with --answer: write every question, answer, prediction and score to this JSONL file")
    locomo.add_argument("--limit", type=int, default=None,
                        help="only the first N questions of each conversation (a quick run)")
    locomo.add_argument("--memories", type=_at_least_one, default=ANSWER_MEMORIES,
                        help="with --answer: how many paged-in memories the model answers from; fewer is "
                             "faster and less accurate (default: %(default)s)")
    locomo.add_argument("--json", action="store_true")
    locomo.add_argument("--data-dir", type=Path, default=None, help="where to keep the agents (default: a temp dir)")
    add_runtime_options(locomo)
    locomo.set_defaults(handler=run_eval)
    core = benches.add_parser("core-memory", help="letta-evals core-memory read/update accuracy")
    core.add_argument("--suite", choices=("read", "update"), required=True)
    core.add_argument("--data", type=Path, required=True, help="letta-evals JSONL file")
    core.add_argument("--limit", type=int, default=None, help="only the first N rows")
    core.add_argument("--block", default="facts",
                      help="core block that holds each row's facts: a block of its own (default) or 'human'")
    core.add_argument("--json", action="store_true")
    core.add_argument("--data-dir", type=Path, default=None, help="where to keep the agents (default: a temp dir)")
    add_runtime_options(core)
    core.set_defaults(handler=run_core_memory_eval)


def run_eval(args: argparse.Namespace) -> int:
    from engine.agent.settings import AgentSettings
    from engine.api import Engine
    from engine.eval.locomo import run_locomo

    ks = tuple(sorted(int(k) for k in args.k.split(",")))
    conversations = args.conversations.split(",") if args.conversations else None
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(args.data_dir or Path(tmp), runtime_settings(args),
                        agent_settings=AgentSettings(summarise_with_model=False))
        try:
            result = run_locomo(engine, args.data, conversations, ks, lambda line: print(line, file=sys.stderr),
                                args.answer, args.limit, args.details, args.memories)
        finally:
            engine.close()
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


def run_core_memory_eval(args: argparse.Namespace) -> int:
    from engine.api import Engine
    from engine.eval.core_memory import read_rows, run_core_memory

    rows = read_rows(args.data, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(args.data_dir or Path(tmp), runtime_settings(args))
        try:
            result = run_core_memory(engine, args.suite, rows, args.block,
                                     lambda line: print(line, file=sys.stderr, flush=True))
        finally:
            engine.close()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0
