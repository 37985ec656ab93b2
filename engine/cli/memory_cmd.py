"""``llmos memory``: look into, search and add to an agent's memory from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from engine.cli.options import ProgressLine, add_data_dir
from engine.paths import default_data_dir


def register(sub: argparse._SubParsersAction) -> None:
    memory = sub.add_parser("memory", help="look into and add to memory")
    commands = memory.add_subparsers(dest="memory_command", metavar="SUBCOMMAND", required=True)
    show = _command(commands, "show", "core memory blocks and what is stored", _show)
    show.add_argument("--json", action="store_true")
    search = _command(commands, "search", "search recall and archival memory", _search)
    search.add_argument("query")
    search.add_argument("--tier", choices=("recall", "archival", "all"), default="all")
    search.add_argument("--page", type=int, default=1)
    search.add_argument("--page-size", type=int, default=10)
    search.add_argument("--json", action="store_true")
    timeline = _command(commands, "timeline", "memory events in time order", _timeline)
    timeline.add_argument("--kind", default=None)
    timeline.add_argument("--limit", type=int, default=100)
    timeline.add_argument("--json", action="store_true")
    insert = _command(commands, "insert", "add a passage to archival memory", _insert)
    insert.add_argument("text")
    importer = _command(commands, "import", "import text and markdown files into archival memory", _import)
    importer.add_argument("paths", nargs="+", type=Path)


def _command(commands, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text)
    add_data_dir(parser)
    parser.add_argument("--agent", default="default", help="agent name (default: default)")
    parser.set_defaults(handler=handler)
    return parser


@contextmanager
def _opened(args: argparse.Namespace):
    """The engine on the data folder (memory only: no model is loaded) and the agent's name."""
    from engine.api import Engine

    engine = Engine(args.data_dir or default_data_dir())
    try:
        engine.agent(args.agent)  # an unknown agent is a one-line error before anything else
        yield engine, args.agent
    finally:
        engine.close()


def _show(args: argparse.Namespace) -> int:
    with _opened(args) as (engine, agent):
        blocks, stats = engine.core_blocks(agent), engine.stats(agent)
        counts = {"messages": stats.messages, "passages": stats.passages}
        name = engine.agent(agent).name
        if args.json:
            print(json.dumps({"agent": name, "counts": counts, "results": [asdict(b) for b in blocks]}, default=str))
            return 0
        print(f"Agent {name}: {counts['messages']} messages, {counts['passages']} passages")
        for block in blocks:
            print(f"\n[{block.label}] {len(block.value)}/{block.limit} characters, version {block.version}")
            print(block.value)
    return 0


def _search(args: argparse.Namespace) -> int:
    with _opened(args) as (engine, agent):
        tiers = ("recall", "archival") if args.tier == "all" else (args.tier,)
        pages = [engine.search(args.query, tier, agent, args.page, args.page_size) for tier in tiers]
        hits = sorted((hit for page in pages for hit in page.items), key=lambda h: -h.score) \
            if len(pages) > 1 else list(pages[0].items)
        total = sum(page.total for page in pages)
        if args.json:
            print(json.dumps({"query": args.query, "tier": args.tier, "page": args.page,
                              "page_size": args.page_size, "total": total,
                              "results": [asdict(h) for h in hits]}, default=str))
            return 0
        print(f"{total} matches (page {args.page})")
        for hit in hits:
            who = hit.name or hit.role or hit.tier
            print(f"  [{hit.tier} #{hit.id} {hit.created_at:%Y-%m-%d %H:%M} {who}] {_one_line(hit.text)}")
    return 0


def _timeline(args: argparse.Namespace) -> int:
    with _opened(args) as (engine, agent):
        events = engine.timeline(agent, kinds=(args.kind,) if args.kind else None, limit=args.limit)
        if args.json:
            print(json.dumps({"results": [asdict(e) for e in events]}, default=str))
            return 0
        for event in events:
            print(f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:<16} {_one_line(json.dumps(event.payload, default=str))}")
    return 0


def _insert(args: argparse.Namespace) -> int:
    with _opened(args) as (engine, agent):
        passage = engine.insert_passage(args.text, agent, source="cli")
        print(f"stored passage #{passage.id}")
    return 0


def _import(args: argparse.Namespace) -> int:
    with _opened(args) as (engine, agent), ProgressLine() as progress:
        report = engine.import_files(args.paths, agent, lambda done, total: progress("Importing", done, total))
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"imported {report.passages} passages from {report.files} files")
    return 0


def _one_line(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
