"""``llmos agent``: agents in and out as Letta agent files."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from engine.api import Engine
from engine.cli.options import ProgressLine, add_data_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("agent", help="export or import an agent as a Letta agent file (.af)")
    commands = parser.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    export = commands.add_parser("export", help="write an agent, every message and its passages to an .af file")
    add_data_dir(export)
    export.add_argument("name", help="the agent to export")
    export.add_argument("out", type=Path, help="the .af file to write")
    export.set_defaults(handler=run_export)
    take = commands.add_parser("import", help="read a Letta agent file into a new agent (tools are never run)")
    add_data_dir(take)
    take.add_argument("--name", default=None, help="the new agent's name (default: the name in the file)")
    take.add_argument("--json", action="store_true", help="print the import report as JSON")
    take.add_argument("file", type=Path, help="the .af file to read")
    take.set_defaults(handler=run_import)


def run_export(args: argparse.Namespace) -> int:
    engine = Engine(args.data_dir)
    try:
        out = engine.export_agent(args.out, agent=args.name)
        stats = engine.stats(args.name)
    finally:
        engine.close()
    print(f"exported {args.name!r} to {out}: {stats.messages} messages, {stats.passages} passages")
    return 0


def run_import(args: argparse.Namespace) -> int:
    engine = Engine(args.data_dir)
    try:
        with ProgressLine() as progress:
            report = engine.import_agent(args.file, name=args.name, progress=progress)
    finally:
        engine.close()
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
        return 0
    print(f"imported {report.agent!r}: {report.blocks} core blocks, {report.messages} messages "
          f"({report.in_context} in the window), {report.passages} passages")
    for line in report.skipped:
        print(f"  left out: {line}")
    return 0
