"""``llmos chat``: talk to the model in the terminal, or send one message and print the reply."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from typing import Iterable, Iterator

from engine.agent.settings import AgentSettings
from engine.api import Engine, TurnSteps
from engine.cli.options import ProgressLine, add_data_dir, add_runtime_options, runtime_settings
from engine.errors import InferenceServerError, InputError
from engine.events import (ContextEvent, DoneEvent, FunctionCallEvent, FunctionResultEvent, MemoryEvent, TokenEvent,
                           TurnEvent, label)
from engine.runtime.model import CancelFlag

QUIT_WORDS = {"/quit", "/exit", "/q"}
RETRY_WORD = "/retry"


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
    parser.add_argument("--retry", action="store_true",
                        help="answer the newest stored message again without storing it twice (after a turn "
                             "that failed, e.g. while the inference server was away)")
    parser.add_argument("--json", action="store_true",
                        help="with --message or --retry: print one JSON object for the turn (reply, steps, "
                             "context, seconds)")
    add_data_dir(parser)
    add_runtime_options(parser)
    parser.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    if args.json and args.message is None and not args.retry:
        raise InputError("--json needs --message or --retry: it reports one turn")
    if args.retry and args.message is not None:
        raise InputError("--retry answers the stored message again; it takes no --message")
    agent_settings = replace(AgentSettings(), max_steps=max(1, args.max_steps),
                             summarise_with_model=args.summaries == "model")
    settings = runtime_settings(args)
    engine = Engine(args.data_dir, settings, agent_settings=agent_settings)
    try:
        if not settings.remote:  # a server is connected to by the turn, which keeps the message if it is away
            with ProgressLine() as progress:
                engine.load_model(progress)
        if args.message is not None or args.retry:
            events = _one_turn(engine, args, CancelFlag())
            if args.json:
                print(json.dumps(turn_report(events), ensure_ascii=False))
            else:
                _answer(args, events)
            return 0
        return _interactive(engine, args)
    finally:
        engine.close()


def _one_turn(engine: Engine, args: argparse.Namespace, cancel: CancelFlag) -> Iterator[TurnEvent]:
    if args.retry:
        return engine.retry(args.agent, cancel)
    return engine.send(args.message, agent=args.agent, cancel=cancel)


def _answer(args: argparse.Namespace, events: Iterable[TurnEvent]) -> None:
    for event in events:
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


def turn_report(events: Iterable[TurnEvent]) -> dict:
    """What a turn did and cost, as one object: the reply, each call with its result, the first
    step's window (how much of it the KV cache reused) and the wall time."""
    start, steps, context, reply = time.perf_counter(), TurnSteps(), None, ""
    for event in events:
        if isinstance(event, ContextEvent) and context is None:
            context = {"total_tokens": event.total_tokens, "evaluated_tokens": event.evaluated_tokens,
                       "reused_tokens": event.reused_tokens, "prompt_ms": round(event.prompt_ms, 1)}
        elif isinstance(event, DoneEvent):
            reply = event.reply
        else:
            steps.take(event)
    return {"reply": reply, "steps": steps.records, "context": context,
            "seconds": round(time.perf_counter() - start, 2)}


def _call_line(event: FunctionCallEvent) -> str:
    return label(event.name, doing=True).lower()


def _interactive(engine: Engine, args: argparse.Namespace) -> int:
    """One message per line until end of input; bytes that are not UTF-8 become U+FFFD."""
    interactive = sys.stdin.isatty()
    sys.stdin.reconfigure(errors="replace")
    if interactive:
        print(f"llmos chat with {engine.runtime.name}. Ctrl-C stops a reply; {RETRY_WORD} answers your last "
              "message again; /quit leaves.", file=sys.stderr)
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
        except InferenceServerError as exc:  # nor does a server that is away: /retry answers the message later
            print(f"\nllmos: {exc} (type {RETRY_WORD})", file=sys.stderr, flush=True)


def _answer_interruptibly(engine: Engine, args: argparse.Namespace, text: str) -> None:
    """Ctrl-C during a reply stops the reply, not the chat."""
    cancel = CancelFlag()
    try:
        retry = text.strip() == RETRY_WORD
        _answer(args, engine.retry(args.agent, cancel) if retry else engine.send(text, agent=args.agent, cancel=cancel))
    except KeyboardInterrupt:
        cancel.set()
        sys.stdout.write(" [stopped]\n")
