"""``llmos models``: the embedded model and every GGUF in the models folder."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from engine.paths import default_models_dir
from engine.runtime.model_catalog import embedded_entries, scan_models_dir


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list the models you can run")
    parser.add_argument("--models-dir", type=Path, default=None,
                        help=f"folder scanned for GGUF files (default: {default_models_dir()})")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace) -> int:
    folder = args.models_dir or default_models_dir()
    entries = [*embedded_entries(), *scan_models_dir(folder)]
    if args.json:
        print(json.dumps({"models_dir": str(folder),
                          "results": [asdict(e) | {"path": str(e.path) if e.path else None} for e in entries]}))
        return 0
    print(f"Models folder: {folder}")
    for entry in entries:
        where = f"--model {entry.id}" if entry.embedded else str(entry.path)
        mark = "*" if entry.default else " "
        line = f"{mark} {entry.name:<40} {entry.quantisation:<7} {entry.size_bytes / 2**20:6.0f} MiB  {where}"
        print(line + (f"\n      {entry.purpose}" if entry.purpose else "")
              + (f"\n      unusable: {entry.problem}" if entry.problem else ""))
    print("* the model used when none is chosen")
    return 0
