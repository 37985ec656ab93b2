"""Options shared by several subcommands, and a progress line for long work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.paths import default_data_dir
from engine.runtime.remote.formats import NAMED_FORMATS
from engine.runtime.settings import (DEFAULT_N_CTX, DEFAULT_PAGING_MODE, DEFAULT_SERVER_TIMEOUT_S, PAGING_MODES,
                                    RuntimeSettings)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"where memory lives (default: {default_data_dir()})")


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=None,
                        help="a GGUF file or an embedded model's id (see `llmos models`; default: LLMOS_MODEL, "
                             "else the default embedded model)")
    parser.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX,
                        help="context window in tokens (with --server: used when the server does not say its own)")
    parser.add_argument("--gpu-layers", type=int, default=0, help="layers to offload to the GPU (-1: all)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: one per core)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--paging", choices=PAGING_MODES, default=DEFAULT_PAGING_MODE,
                        help="how the KV cache follows a changed window: fast shifts kept tokens, window also "
                             "re-evaluates a few after each change, exact re-evaluates all after the first change")

    server = parser.add_argument_group("generation on an inference server (llama-server, vLLM, llama_cpp.server)")
    server.add_argument("--server", metavar="URL", default=None,
                        help="generate on this OpenAI-compatible server instead of a local model; memory stays "
                             "here (e.g. http://gpu-box:8080)")
    server.add_argument("--server-model", metavar="NAME", default=None,
                        help="the model to ask the server for (default: the first it lists)")
    server.add_argument("--api-key-env", metavar="VAR", default=None,
                        help="the environment variable holding the server's API key (the key is never stored)")
    server.add_argument("--server-timeout", metavar="SECONDS", type=float, default=DEFAULT_SERVER_TIMEOUT_S,
                        help=f"wait this long to connect and for each next part of a reply "
                             f"(default: {DEFAULT_SERVER_TIMEOUT_S:g})")
    server.add_argument("--server-slot", metavar="N", type=int, default=None,
                        help="llama-server: pin the conversation to this slot (default: the best-matching slot)")
    server.add_argument("--chat-format", choices=sorted(NAMED_FORMATS), default=None,
                        help="the model's turn format, for a server that does not publish its chat template "
                             "(default: the server's template, else a guess from the model's name)")


def runtime_settings(args: argparse.Namespace) -> RuntimeSettings:
    return RuntimeSettings(model_path=args.model, n_ctx=args.n_ctx, n_threads=args.threads,
                           n_gpu_layers=args.gpu_layers, seed=args.seed, paging_mode=args.paging,
                           server_url=args.server, server_model=args.server_model, api_key_env=args.api_key_env,
                           server_timeout_s=args.server_timeout, server_slot=args.server_slot,
                           chat_format=args.chat_format)


class ProgressLine:
    """``progress(stage, done, total)`` drawn as one updating line on stderr."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self._last = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        bar = "#" * (percent // 5)
        line = f"\r{stage}: [{bar:<20}] {percent:3d}%"
        if line != self._last:
            self.stream.write(line)
            self._last = line
        if done >= total:
            self._end_line()
        self.stream.flush()

    def _end_line(self) -> None:
        if self._last:
            self.stream.write("\n")
            self._last = ""

    def __enter__(self) -> "ProgressLine":
        return self

    def __exit__(self, *exc) -> None:
        """Close an unfinished line, so an error message starts on its own line."""
        self._end_line()
        self.stream.flush()
