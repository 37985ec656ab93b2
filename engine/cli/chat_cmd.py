"""``llmos chat``: talk to the model in the terminal, or send one message and print the reply."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from engine.agent.settings import AgentSettings
from engine.api import Engine
from engine.cli.options import ProgressLine, add_data_dir, add_runtime_options, runtime_settings
from engine.errors import InputError
from engine.events import DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, TokenEvent
from engine.runtime.model import CancelFlag

QUIT_WORDS = {"/quit", "/exit", "/q"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("chat", help="chat in the terminal (streams the reply)")
    parser.add_argument("--message", "-m", default=None, help="send one message, print the reply, exit")
    parser.add_argument("--agent", default="default", help="which agent to talk to (default: default)")
    parser.add_argument("--show-calls", action="store_true", help="print memory function calls on stderr")
    parser.add_argument("--max-steps", type=int, default=AgentSettings.max_steps,
                        help=f"function calls per turn at most (default: {AgentSettings.max_steps})")
    parser.add_argument("--summaries", choices=("model", "extractive"), default="model",
                        help="who writes the summary of evicted messages (extractive: fast, no model)")
    parser.add_argument("--ack", action="store_true",
                        help="for scripts: print 'ack ID' once a message is stored durably, "
                             "'end' on a line of its own after the reply (a reply may span lines), "
                             "'refused: REASON' for a message that is not accepted")
    add_data_dir(parser)
    add_runtime_options(parser)
    parser.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    agent_settings = replace(AgentSettings(), max_steps=max(1, args.max_steps),
                             summarise_with_model=args.summaries == "model")
    engine = Engine(args.data_dir, runtime_settings(args), agent_settings=agent_settings)
    try:
        with ProgressLine() as progress:
            engine.load_model(progress)
        if args.message is not None:
            _answer(engine, args, args.message, CancelFlag())
            return 0
        return _interactive(engine, args)
    finally:
        engine.close()


def _answer(engine: Engine, args: argparse.Namespace, text: str, cancel: CancelFlag) -> None:
    for event in engine.send(text, agent=args.agent, cancel=cancel):
        if isinstance(event, MemoryEvent) and event.kind == "message_stored" and args.ack:
            print(f"ack {event.payload['message_id']}", flush=True)
        elif isinstance(event, FunctionCallEvent) and event.name != "send_message":
            print(f"  ({_call_line(event)})", file=sys.stderr)
        elif isinstance(event, FunctionResultEvent) and args.show_calls:
            print(f"  -> {'ok' if event.ok else 'error'}: {event.result[:200]}", file=sys.stderr)
        elif isinstance(event, TokenEvent):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, DoneEvent):
            suffix = " [stopped]" if event.stop_reason == "cancelled" else ""
            sys.stdout.write(suffix + "\n" + ("end\n" if args.ack else ""))
            sys.stdout.flush()


def _call_line(event: FunctionCallEvent) -> str:
    labels = {"conversation_search": "searching the conversation", "conversation_search_date": "searching by date",
              "archival_memory_search": "searching archival memory", "archival_memory_insert": "saving to archival memory",
              "core_memory_append": "updating core memory", "core_memory_replace": "updating core memory"}
    return labels.get(event.name, event.name)


def _interactive(engine: Engine, args: argparse.Namespace) -> int:
    """One message per line until end of input; bytes that are not UTF-8 become U+FFFD."""
    interactive = sys.stdin.isatty()
    sys.stdin.reconfigure(errors="replace")
    if interactive:
        print(f"llmos chat with {engine.runtime.name}. Ctrl-C stops a reply; /quit leaves.", file=sys.stderr)
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            return 0
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return 0
        if line.strip() in QUIT_WORDS:
            return 0
        if not line.strip() and not args.ack:
            continue
        try:
            _answer_interruptibly(engine, args, line)
        except InputError as exc:  # one refused message does not end the chat
            print(f"refused: {exc}" if args.ack else f"llmos: {exc}", file=sys.stdout if args.ack else sys.stderr,
                  flush=True)


def _answer_interruptibly(engine: Engine, args: argparse.Namespace, text: str) -> None:
    """Ctrl-C during a reply stops the reply, not the chat."""
    cancel = CancelFlag()
    try:
        _answer(engine, args, text, cancel)
    except KeyboardInterrupt:
        cancel.set()
        sys.stdout.write(" [stopped]\n")
