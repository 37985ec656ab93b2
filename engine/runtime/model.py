"""The language model: load a GGUF through llama.cpp, count tokens, stream generations.

One :class:`ModelRuntime` owns one ``llama_cpp.Llama``. Generation is a plain iterator of text
pieces; cancelling is the caller's flag, checked once per token.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from engine.errors import ContextTooSmallError, ModelFileError
from engine.runtime.chat_format import ChatFormat, chat_format_for
from engine.runtime.grammar_sampling import install as install_grammar_sampling
from engine.runtime.llama_log import route_llama_log
from engine.runtime.model_file import ModelFile, ProgressFn, resolve_model
from engine.runtime.settings import RuntimeSettings
from engine.runtime.weight_layout import model_params_with_repack

log = logging.getLogger(__name__)

MIN_N_CTX = 16


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings; temperature 0 means greedy (deterministic) decoding."""

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.1


GREEDY = SamplingParams(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)


@dataclass
class GenerationStats:
    """Filled in while a generation runs; read it after the iterator ends."""

    prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0
    generated_tokens: int = 0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    stop_reason: str = ""  # "stop", "length", "cancelled"
    text: str = ""

    @property
    def tokens_per_second(self) -> float:
        decode_ms = self.total_ms - self.first_token_ms
        return (self.generated_tokens - 1) / (decode_ms / 1000) if decode_ms > 0 and self.generated_tokens > 1 else 0.0


@dataclass
class CancelFlag:
    """Set from any thread to stop a generation at the next token."""

    _event: threading.Event = field(default_factory=threading.Event)

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


class ModelRuntime:
    """A loaded model with its tokenizer and turn format."""

    def __init__(self, settings: RuntimeSettings, progress: ProgressFn | None = None,
                 cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.model_file: ModelFile = resolve_model(settings.model_path, cache_dir, progress)
        self.n_ctx = self._checked_n_ctx(settings.n_ctx)
        if progress:
            progress("Loading the model", 0, 1)
        self.llama = self._load()
        if progress:
            progress("Loading the model", 1, 1)
        self.chat_format: ChatFormat = chat_format_for(
            self.model_file.header.chat_template, self._piece(self.llama.token_bos()),
            self._piece(self.llama.token_eos()), self.model_file.header.architecture)
        self.stop_token_ids = self._stop_token_ids()

    @property
    def name(self) -> str:
        return self.model_file.header.name

    def _checked_n_ctx(self, n_ctx: int) -> int:
        if n_ctx < MIN_N_CTX:
            raise ContextTooSmallError(f"n_ctx {n_ctx} is too small; use at least {MIN_N_CTX} tokens")
        trained = self.model_file.header.context_length
        if trained and n_ctx > trained:
            log.warning("n_ctx %d exceeds the model's trained context %d; using %d", n_ctx, trained, trained)
            return int(trained)
        return n_ctx

    def _load(self):
        import llama_cpp

        route_llama_log()
        header = self.model_file.header
        try:
            with model_params_with_repack(self.settings.weight_repack):
                llama = llama_cpp.Llama(
                    model_path=str(self.model_file.path), n_ctx=self.n_ctx, n_batch=self.settings.n_batch,
                    n_threads=self.settings.threads, n_threads_batch=self.settings.threads,
                    n_gpu_layers=self.settings.n_gpu_layers, seed=self.settings.seed, verbose=False)
            llama = _with_sequences(llama, self.settings.n_seq_max)
            install_grammar_sampling(llama)
            return llama
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"{self.model_file.path}: llama.cpp could not load this model (architecture "
                f"'{header.architecture}'); it is corrupt or not supported by this llama.cpp build"
            ) from exc

    def _piece(self, token: int) -> str:
        return self.llama.detokenize([token], special=True).decode("utf-8", errors="ignore") if token >= 0 else ""

    def _stop_token_ids(self) -> frozenset[int]:
        ids = {self.llama.token_eos()}
        for stop in self.chat_format.stop:
            tokens = self.tokenize(stop)
            if len(tokens) == 1:
                ids.add(tokens[0])
        return frozenset(t for t in ids if t >= 0)

    # -- tokens -------------------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = False, special: bool = True) -> list[int]:
        """Exact tokens of ``text`` with the model's own tokenizer.

        ``special`` recognises markup such as ``<start_of_turn>``; content (anything a user, a
        document or the model wrote) is tokenised with ``special=False`` so text that imitates
        markup stays text and cannot open a turn of its own.
        """
        return self.llama.tokenize(text.encode("utf-8", errors="replace"), add_bos=add_bos, special=special)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.llama.detokenize(list(tokens)).decode("utf-8", errors="replace")

    @property
    def bos_tokens(self) -> list[int]:
        bos = self.llama.token_bos()
        return [bos] if bos >= 0 and self.llama._model.add_bos_token() else []

    def require_room(self, fixed_tokens: int, reserve: int, what: str = "the system prompt") -> None:
        """Raise :class:`ContextTooSmallError` if ``fixed_tokens`` plus ``reserve`` cannot fit."""
        require_room(self.n_ctx, fixed_tokens, reserve, what)

    # -- generation ---------------------------------------------------------------------------

    def stream(self, prompt_tokens: Sequence[int], *, max_tokens: int = 256,
               sampling: SamplingParams = SamplingParams(), grammar=None,
               cancel: CancelFlag | None = None, stats: GenerationStats | None = None,
               stop_strings: Sequence[str] = (), prompt_text: str | None = None) -> Iterator[str]:
        """Yield the reply as text pieces; stops at a stop token or string, ``max_tokens`` or ``cancel``.

        The KV cache keeps its longest common prefix with ``prompt_tokens``, so a caller that
        keeps the cache in line with its prompt (the KV pager) pays only for new tokens.
        ``prompt_text`` (what the tokens render) is for a server that takes text only; unused here.
        """
        stats = stats if stats is not None else GenerationStats()
        room = self.n_ctx - len(prompt_tokens)
        if room <= 0:
            raise ContextTooSmallError(f"the prompt ({len(prompt_tokens)} tokens) fills the whole window")
        max_tokens = min(max_tokens, room)
        stats.prompt_tokens = len(prompt_tokens)
        start, decoder, pieces = time.perf_counter(), codecs.getincrementaldecoder("utf-8")("replace"), []
        stopper = StopStrings(stop_strings)
        stats.stop_reason = "length"
        tokens = self.llama.generate(
            list(prompt_tokens), top_k=sampling.top_k, top_p=sampling.top_p, min_p=sampling.min_p,
            temp=sampling.temperature, repeat_penalty=sampling.repeat_penalty, grammar=grammar)
        try:
            for token in tokens:
                if stats.generated_tokens == 0:
                    stats.first_token_ms = (time.perf_counter() - start) * 1000
                if token in self.stop_token_ids:
                    stats.stop_reason = "stop"
                    break
                stats.generated_tokens += 1
                piece, stopped = stopper.feed(decoder.decode(self.llama.detokenize([token])))
                if piece:
                    pieces.append(piece)
                    yield piece
                if stopped:
                    stats.stop_reason = "stop"
                    break
                if cancel is not None and cancel.is_set:
                    stats.stop_reason = "cancelled"
                    break
                if stats.generated_tokens >= max_tokens:
                    break
        finally:
            tokens.close()
            stats.total_ms = (time.perf_counter() - start) * 1000
            stats.text = "".join(pieces)

    def generate_text(self, prompt_tokens: Sequence[int], **kwargs) -> str:
        """The whole reply at once (see :meth:`stream`)."""
        return "".join(self.stream(prompt_tokens, **kwargs))

    def grammar_for_schema(self, schema: dict):
        """A llama.cpp grammar that admits only JSON matching ``schema``."""
        from llama_cpp import LlamaGrammar

        return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)

    def close(self) -> None:
        self.llama.close()


def _with_sequences(llama, n_seq_max: int):
    """``llama`` with a context of ``n_seq_max`` sequences in one unified KV cache.

    ``Llama`` takes no ``n_seq_max``, so its context is replaced by one made from the same
    parameters. The cache stays unified (``kv_unified``): every sequence may use the whole
    ``n_ctx``, and copying cells between sequences only tags them (``llama_memory_seq_cp``).
    """
    if n_seq_max <= 1:
        return llama
    from llama_cpp import _internals

    params = llama.context_params
    params.n_seq_max, params.kv_unified = n_seq_max, True
    old = llama._ctx
    context = _internals.LlamaContext(model=llama._model, params=params, verbose=llama.verbose)
    llama._ctx = llama._stack.enter_context(contextlib.closing(context))
    old.close()
    return llama


class StopStrings:
    """Holds back text that may be the start of a stop string, and cuts at one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self.stops:
            return piece, False
        text = self.pending + piece
        cut = min((text.find(s) for s in self.stops if s in text), default=-1)
        if cut >= 0:
            self.pending = ""
            return text[:cut], True
        keep = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        self.pending = text[len(text) - keep:] if keep else ""
        return text[: len(text) - keep], False


def require_room(n_ctx: int, fixed_tokens: int, reserve: int, what: str) -> None:
    """Raise :class:`ContextTooSmallError` if ``fixed_tokens`` plus ``reserve`` cannot fit in ``n_ctx``."""
    if fixed_tokens + reserve > n_ctx:
        raise ContextTooSmallError(
            f"n_ctx {n_ctx} is too small: {what} alone needs {fixed_tokens} tokens and a "
            f"reply {reserve} more; use --n-ctx {_round_up(fixed_tokens + reserve)} or larger")


def _round_up(n: int) -> int:
    size = MIN_N_CTX
    while size < n:
        size *= 2
    return size
