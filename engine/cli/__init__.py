"""The ``llmos`` command: a thin layer that parses arguments and calls the engine facade."""

from __future__ import annotations

import argparse
import logging
import sys

import engine.offline  # noqa: F401  (offline switches before any library loads)
from engine import __version__
from engine.cli import chat_cmd, models_cmd
from engine.errors import LlmosError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmos", description="A local chat whose model has a durable memory.")
    parser.add_argument("--version", action="version", version=f"llmos {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat_cmd.register(sub)
    models_cmd.register(sub)
    for name in ("memory_cmd", "eval_cmd", "serve_cmd", "agent_cmd"):
        _register_optional(sub, name)
    return parser


def _register_optional(sub, module_name: str) -> None:
    import importlib

    try:
        module = importlib.import_module(f"engine.cli.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"engine.cli.{module_name}":
            raise
        return
    module.register(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except LlmosError as exc:
        print(f"llmos: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
