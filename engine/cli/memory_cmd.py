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
    from engine.memory.disk_errors import storage_errors
    from engine.memory.store import MemoryStore

    store = MemoryStore.open(args.data_dir or default_data_dir())
    try:
        with storage_errors(store.data_dir):
            agent = store.agents.ensure_default() if args.agent == "default" else store.agents.get_by_name(args.agent)
            yield store, agent
    finally:
        store.close()


def _show(args: argparse.Namespace) -> int:
    with _opened(args) as (store, agent):
        blocks = store.core.blocks(agent.id)
        counts = {"messages": store.recall.count(agent.id), "passages": store.archival.count(agent.id)}
        if args.json:
            print(json.dumps({"agent": agent.name, "counts": counts,
                              "results": [asdict(b) for b in blocks]}, default=str))
            return 0
        print(f"Agent {agent.name}: {counts['messages']} messages, {counts['passages']} passages")
        for block in blocks:
            print(f"\n[{block.label}] {len(block.value)}/{block.limit} characters, version {block.version}")
            print(block.value)
    return 0


def _search(args: argparse.Namespace) -> int:
    with _opened(args) as (store, agent):
        pages = []
        if args.tier in ("recall", "all"):
            pages.append(store.recall.search_text(agent.id, args.query, args.page, args.page_size))
        if args.tier in ("archival", "all"):
            pages.append(store.archival.search(agent.id, args.query, args.page, args.page_size))
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
    with _opened(args) as (store, agent):
        kinds = (args.kind,) if args.kind else None
        events = store.timeline.query(agent.id, kinds=kinds, limit=args.limit, newest_first=True)
        if args.json:
            print(json.dumps({"results": [asdict(e) for e in events]}, default=str))
            return 0
        for event in events:
            print(f"{event.at:%Y-%m-%d %H:%M:%S} {event.kind:<16} {_one_line(json.dumps(event.payload, default=str))}")
    return 0


def _insert(args: argparse.Namespace) -> int:
    with _opened(args) as (store, agent):
        passage = store.archival.insert(agent.id, args.text, source="cli")
        print(f"stored passage #{passage.id}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from engine.memory.importer import import_files

    with _opened(args) as (store, agent), ProgressLine() as progress:
        report = import_files(store.archival, agent.id, args.paths,
                              lambda done, total: progress("Importing", done, total))
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"imported {report.passages} passages from {report.files} files")
    return 0


def _one_line(text: str, width: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
