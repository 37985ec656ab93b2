"""``llmos serve``: the OpenAI API on this machine, over the same memory as the app and the CLI."""

from __future__ import annotations

import argparse
import signal
import sys

from engine.agent.settings import AgentSettings
from engine.cli.options import ProgressLine, add_data_dir, add_runtime_options, runtime_settings
from engine.errors import InputError

DEFAULT_PORT = 8747


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="serve the OpenAI API (chat with memory, embeddings) on this machine")
    add_data_dir(parser)
    add_runtime_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow an address beyond loopback (the token is still required)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a further Host header name to accept (with --allow-remote); repeatable")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="a web origin allowed to call the API from a browser; repeatable (default: none)")
    parser.add_argument("--max-steps", type=int, default=AgentSettings.max_steps,
                        help="function calls per turn before the agent must reply")
    parser.add_argument("--show-token", action="store_true", help="print the API token and exit")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from engine.paths import default_data_dir
    from engine.server.access import is_loopback, load_or_create_token
    from engine.server.listener import listen

    data_dir = args.data_dir or default_data_dir()
    if args.show_token:
        print(load_or_create_token(data_dir))
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        raise InputError(f"{args.host} is reachable from other machines: add --allow-remote to serve there")
    listener = listen(args.host, args.port)
    allowed = frozenset(args.allowed_host) | (frozenset() if is_loopback(args.host) or args.host in ("0.0.0.0", "::")
                                              else {args.host})
    return _serve(args, data_dir, listener, allowed)


def _serve(args: argparse.Namespace, data_dir, listener, allowed: frozenset[str]) -> int:
    from engine.api import Engine
    from engine.server.access import load_or_create_token
    from engine.server.app import build_app
    from engine.server.listener import address, uvicorn_server
    from engine.server.worker import EngineWorker

    engine = Engine(data_dir, runtime_settings(args), agent_settings=AgentSettings(max_steps=max(1, args.max_steps)))
    worker = EngineWorker(engine)
    try:
        with ProgressLine() as progress:
            engine.load_model(progress)
        app = build_app(worker, load_or_create_token(data_dir), allowed, tuple(args.cors_origin))
        print(f"llmos serve: {address(listener)} (model {engine.runtime.name}; agents: "
              f"{', '.join(a.name for a in engine.agents())}); token: llmos serve --show-token", flush=True)
        # uvicorn stops on SIGINT or SIGTERM and raises the signal again once it has; both end here,
        # so the engine is closed (its KV state saved) either way.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            uvicorn_server(app).run(sockets=[listener])
        except KeyboardInterrupt:
            pass
    finally:
        listener.close()
        worker.close()
    print("llmos serve: stopped", file=sys.stderr)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
