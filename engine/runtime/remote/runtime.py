"""A model that runs on an OpenAI-compatible inference server, with the local model's interface.

The window is still compiled here, segment by segment in the same order, and counted with the
server's own tokenizer; only generation goes over the network, as a raw completion of exactly
that prompt. So the server's prefix cache holds what the KV pager would have kept, and the agent
loop, the memory functions and the memory tiers cannot tell which backend runs. Memory never
leaves this machine: the server sees the prompt of each step and nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from engine.errors import ContextTooSmallError, InputError
from engine.lru import LruCache
from engine.runtime.chat_format import ChatFormat, chat_format_for
from engine.runtime.model import CancelFlag, GenerationStats, SamplingParams, StopStrings, require_room
from engine.runtime.remote.connection import ServerConnection
from engine.runtime.remote.dialects import Dialect, Request, detect
from engine.runtime.remote.formats import guessed_format, named_format
from engine.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

TOKEN_CACHE_SIZE = 8192


@dataclass(frozen=True)
class SchemaGrammar:
    """A JSON schema the reply must match; each server kind is sent it in its own field."""

    schema: dict


class RemoteModelRuntime:
    """Tokenize, count and generate through an inference server (see engine.runtime.remote.dialects)."""

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self.connection = ServerConnection(settings.server_url or "", _api_key(settings), settings.server_timeout_s)
        try:
            self.dialect: Dialect = detect(self.connection, settings.server_model, settings.server_slot)
            self._tokens: LruCache[tuple[bool, str], tuple[int, ...]] = LruCache(TOKEN_CACHE_SIZE)
            self.n_ctx = self.dialect.info.n_ctx or settings.n_ctx
            self.bos_tokens: list[int] = self.dialect.bos_tokens()
            self.chat_format = self._chat_format()
        except BaseException:
            self.connection.close()
            raise
        log.info("generating on %s (%s, model %s, n_ctx %d, %s turn format)", self.connection.url,
                 self.dialect.kind, self.name, self.n_ctx, self.chat_format.name)

    @property
    def name(self) -> str:
        """The server's name for the model, without a directory when it is a file path."""
        return self.dialect.model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]

    @property
    def server_kind(self) -> str:
        return self.dialect.kind

    def _chat_format(self) -> ChatFormat:
        if self.settings.chat_format:
            return named_format(self.settings.chat_format)
        info = self.dialect.info
        if info.chat_template:
            return chat_format_for(info.chat_template, info.bos_text, info.eos_text, "")
        return guessed_format(info.model)

    # -- tokens -------------------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = False, special: bool = True) -> list[int]:
        """The server tokenizer's tokens for ``text`` (``special`` as for the local model, where the
        server can tell; see the dialects), cached: a window is recounted every step."""
        tokens = self._tokens.get_or_make((special, text), lambda: tuple(self.dialect.tokenize(text, special)))
        return (self.bos_tokens if add_bos else []) + list(tokens)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.dialect.detokenize(tokens) if tokens else ""

    def require_room(self, fixed_tokens: int, reserve: int, what: str = "the system prompt") -> None:
        require_room(self.n_ctx, fixed_tokens, reserve, what)

    # -- generation ---------------------------------------------------------------------------

    def stream(self, prompt_tokens: Sequence[int], *, max_tokens: int = 256,
               sampling: SamplingParams = SamplingParams(), grammar: SchemaGrammar | None = None,
               cancel: CancelFlag | None = None, stats: GenerationStats | None = None,
               stop_strings: Sequence[str] = (), prompt_text: str | None = None) -> Iterator[str]:
        """Yield the reply as the server streams it; stops at a stop string, ``max_tokens`` or
        ``cancel`` (which closes the connection, and the server stops generating).

        Raises an :class:`~engine.errors.InferenceServerError` when the server cannot be reached,
        refuses the key, fails, falls silent past the timeout or goes away mid-reply.
        """
        stats = stats if stats is not None else GenerationStats()
        room = self.n_ctx - len(prompt_tokens)
        if room <= 0:
            raise ContextTooSmallError(f"the prompt ({len(prompt_tokens)} tokens) fills the whole window")
        stats.prompt_tokens, stats.stop_reason = len(prompt_tokens), "length"
        request = Request(prompt_tokens, prompt_text, min(max_tokens, room), sampling,
                          tuple(dict.fromkeys((*self.chat_format.stop, *stop_strings))),
                          grammar.schema if grammar is not None else None)
        path, body = self.dialect.completion(request)
        start, pieces, stopper = time.perf_counter(), [], StopStrings(stop_strings)
        events = self.connection.events(path, body)
        try:
            for event in events:
                piece = self.dialect.piece(event)
                text, stopped = stopper.feed(piece.text)
                if piece.text:
                    stats.generated_tokens += 1
                    if stats.generated_tokens == 1:
                        stats.first_token_ms = (time.perf_counter() - start) * 1000
                if text:
                    pieces.append(text)
                    yield text
                _read_end(stats, piece)
                if stopped:
                    stats.stop_reason = "stop"
                    break
                if cancel is not None and cancel.is_set:
                    stats.stop_reason = "cancelled"
                    break
        finally:
            events.close()
            stats.total_ms = (time.perf_counter() - start) * 1000
            stats.text = "".join(pieces)

    def generate_text(self, prompt_tokens: Sequence[int], **kwargs) -> str:
        """The whole reply at once (see :meth:`stream`)."""
        return "".join(self.stream(prompt_tokens, **kwargs))

    def grammar_for_schema(self, schema: dict) -> SchemaGrammar:
        """The schema itself: llama-server and vLLM take it as JSON, llama_cpp.server as GBNF."""
        return SchemaGrammar(schema)

    def close(self) -> None:
        self.connection.close()


def _read_end(stats: GenerationStats, piece) -> None:
    """The last event's reason and counts, where the server reports them."""
    if piece.finish is not None:
        stats.stop_reason = "length" if piece.finish == "length" else "stop"
    if piece.prompt_tokens is not None:
        stats.prompt_tokens = piece.prompt_tokens
    if piece.evaluated_tokens is not None:
        stats.evaluated_prompt_tokens = piece.evaluated_tokens
    if piece.generated_tokens is not None:
        stats.generated_tokens = piece.generated_tokens


def _api_key(settings: RuntimeSettings) -> str | None:
    key = settings.api_key()
    if settings.api_key_env and key is None:
        raise InputError(f"the API key variable {settings.api_key_env} is not set; set it to the server's key "
                         "in the environment llmos starts from")
    return key
