"""What each kind of inference server calls things: tokenizer, model info, completion request, stream.

Three kinds are known. llama-server (llama.cpp's own) takes token ids, keeps each slot's prompt
cached (``cache_prompt``), pins a conversation to a slot (``id_slot``) and reports in ``timings``
how many prompt tokens it evaluated. vLLM takes token ids and reuses prefixes by itself
(``--enable-prefix-caching``); with ``--enable-prompt-tokens-details`` its usage says how many
were cached. llama_cpp.server (llama-cpp-python's) takes only text, tokenises with special tokens
and a BOS, and reuses the longest common prefix of one cache; it reports no cache figures.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Sequence

from engine.errors import ServerReplyError
from engine.runtime.remote.connection import ServerConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerInfo:
    """What the server says of itself and its model (None where it does not say)."""

    kind: str
    model: str
    n_ctx: int | None = None
    chat_template: str | None = None
    bos_text: str = ""
    eos_text: str = ""


@dataclass(frozen=True)
class Piece:
    """One streamed event: its text, and the end's reason and counts where the event carries them."""

    text: str = ""
    finish: str | None = None
    prompt_tokens: int | None = None
    evaluated_tokens: int | None = None
    generated_tokens: int | None = None


@dataclass(frozen=True)
class Request:
    """What a completion asks for, before a dialect spells it."""

    tokens: Sequence[int]
    text: str | None
    max_tokens: int
    sampling: object  # engine.runtime.model.SamplingParams
    stop: tuple[str, ...]
    schema: dict | None


class Dialect:
    """One kind of server; ``model`` is the name requests carry."""

    kind = ""

    def __init__(self, connection: ServerConnection, info: ServerInfo, slot: int | None = None) -> None:
        self.connection, self.info, self.slot = connection, info, slot

    @property
    def model(self) -> str:
        return self.info.model

    def tokenize(self, text: str, special: bool) -> list[int]:
        raise NotImplementedError

    def bos_tokens(self) -> list[int]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[int]) -> str:
        raise NotImplementedError

    def completion(self, request: Request) -> tuple[str, dict]:
        """The path and body of a streamed completion."""
        raise NotImplementedError

    def piece(self, event: dict) -> Piece:
        raise NotImplementedError


def _tokens(reply: dict, key: str = "tokens") -> list[int]:
    tokens = reply.get(key)
    if not isinstance(tokens, list):
        raise ServerReplyError(f"the server's tokenizer answered without a token list: {str(reply)[:200]}")
    return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]


def _openai_piece(event: dict) -> Piece:
    """A ``/v1/completions`` stream event; vLLM's last one carries ``usage`` (and cached tokens)."""
    choices = event.get("choices") or [{}]
    usage = event.get("usage") or {}
    prompt = usage.get("prompt_tokens")
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    return Piece(choices[0].get("text") or "", choices[0].get("finish_reason"), prompt,
                 prompt - cached if prompt is not None and cached is not None else None,
                 usage.get("completion_tokens"))


class LlamaServer(Dialect):
    """llama.cpp's ``llama-server``: token ids in, ``cache_prompt`` and ``id_slot``, ``timings`` out."""

    kind = "llama-server"

    def tokenize(self, text: str, special: bool) -> list[int]:
        return _tokens(self.connection.post("/tokenize", {"content": text, "add_special": False,
                                                          "parse_special": special}))

    def bos_tokens(self) -> list[int]:
        return _tokens(self.connection.post("/tokenize", {"content": "", "add_special": True}))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self.connection.post("/detokenize", {"tokens": list(tokens)}).get("content", ""))

    def completion(self, request: Request) -> tuple[str, dict]:
        s = request.sampling
        body = {"prompt": list(request.tokens), "n_predict": request.max_tokens, "stream": True,
                "cache_prompt": True, "id_slot": -1 if self.slot is None else self.slot,
                "stop": list(request.stop), "temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p,
                "min_p": s.min_p, "repeat_penalty": s.repeat_penalty}
        if request.schema is not None:
            body["json_schema"] = request.schema
        return "/completion", body

    def piece(self, event: dict) -> Piece:
        if not event.get("stop"):
            return Piece(str(event.get("content", "")))
        timings = event.get("timings") or {}
        finish = "length" if event.get("stop_type") == "limit" else "stop"
        return Piece(str(event.get("content", "")), finish, event.get("tokens_evaluated"),
                     timings.get("prompt_n"), timings.get("predicted_n", event.get("tokens_predicted")))


class Vllm(Dialect):
    """vLLM: token ids in, structured outputs for the schema, usage in the last event."""

    kind = "vllm"

    def tokenize(self, text: str, special: bool) -> list[int]:
        # vLLM's tokenizer always reads special-token text as markup: content that imitates a
        # turn is not kept as plain words here, as it is locally and on llama-server.
        return _tokens(self.connection.post("/tokenize", {"model": self.model, "prompt": text,
                                                          "add_special_tokens": False}))

    def bos_tokens(self) -> list[int]:
        return _tokens(self.connection.post("/tokenize", {"model": self.model, "prompt": "",
                                                          "add_special_tokens": True}))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self.connection.post("/detokenize", {"model": self.model, "tokens": list(tokens)})
                   .get("prompt", ""))

    def completion(self, request: Request) -> tuple[str, dict]:
        s = request.sampling
        body = {"model": self.model, "prompt": list(request.tokens), "max_tokens": request.max_tokens,
                "stream": True, "stream_options": {"include_usage": True}, "stop": list(request.stop),
                "temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p, "min_p": s.min_p,
                "repetition_penalty": s.repeat_penalty}
        if request.schema is not None:
            body["structured_outputs"] = {"json": request.schema}
        return "/v1/completions", body

    def piece(self, event: dict) -> Piece:
        return _openai_piece(event)


class LlamaCppPython(Dialect):
    """llama-cpp-python's ``llama_cpp.server``: text in (it adds the BOS), a GBNF grammar, no cache figures."""

    kind = "llama_cpp.server"
    _bos: list[int] | None = None

    def tokenize(self, text: str, special: bool) -> list[int]:
        # Always with special tokens and a BOS: that is how this server reads a text prompt, so
        # counts made this way are the ones the prompt will have.
        tokens = _tokens(self.connection.post("/extras/tokenize", {"model": self.model, "input": text}))
        bos = self.bos_tokens()
        return tokens[len(bos):] if bos and tokens[: len(bos)] == bos else tokens

    def bos_tokens(self) -> list[int]:
        if self._bos is None:
            self._bos = _tokens(self.connection.post("/extras/tokenize", {"model": self.model, "input": ""}))
        return list(self._bos)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self.connection.post("/extras/detokenize", {"model": self.model, "tokens": list(tokens)})
                   .get("text", ""))

    def completion(self, request: Request) -> tuple[str, dict]:
        if request.text is None:
            raise ServerReplyError("llama_cpp.server takes prompts as text only, and none was given")
        s = request.sampling
        body = {"model": self.model, "prompt": request.text, "max_tokens": request.max_tokens, "stream": True,
                "stop": list(request.stop), "temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p,
                "min_p": s.min_p, "repeat_penalty": s.repeat_penalty}
        if request.schema is not None:
            body["grammar"] = _gbnf(request.schema)
        return "/v1/completions", body

    def piece(self, event: dict) -> Piece:
        return _openai_piece(event)


def _gbnf(schema: dict) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))


def detect(connection: ServerConnection, model: str | None, slot: int | None = None) -> Dialect:
    """Ask the server what it is: llama-server has ``/props``, vLLM lists ``max_model_len`` with its
    models, llama_cpp.server has ``/extras/tokenize``. Raises :class:`ServerReplyError` for a server
    with no tokenizer endpoint (llmos counts the window with the server's own tokenizer)."""
    props = connection.get("/props", missing_ok=True)
    models = connection.get("/v1/models", missing_ok=True) or {}
    entries = [m for m in models.get("data") or [] if isinstance(m, dict) and m.get("id")]
    chosen = _chosen_model(entries, model, connection.url)
    if props is not None and "default_generation_settings" in props:
        settings = props["default_generation_settings"] or {}
        info = ServerInfo(LlamaServer.kind, chosen or str(props.get("model_path", "model")),
                          props.get("n_ctx") or settings.get("n_ctx"), props.get("chat_template") or None,
                          str(props.get("bos_token") or ""), str(props.get("eos_token") or ""))
        return LlamaServer(connection, info, slot)
    entry = next((m for m in entries if m["id"] == chosen), {})
    if "max_model_len" in entry:
        return Vllm(connection, ServerInfo(Vllm.kind, chosen, entry.get("max_model_len")), slot)
    if chosen and connection.post("/extras/tokenize", {"model": chosen, "input": ""}, missing_ok=True) is not None:
        return LlamaCppPython(connection, ServerInfo(LlamaCppPython.kind, chosen), slot)
    raise ServerReplyError(f"the server at {connection.url} offers no tokenizer llmos knows (/tokenize or "
                           "/extras/tokenize), which it needs to count the window: use llama-server, vLLM or "
                           "llama_cpp.server")


def _chosen_model(entries: list[dict], model: str | None, url: str) -> str | None:
    ids = [str(m["id"]) for m in entries]
    if model:
        if ids and model not in ids:
            raise ServerReplyError(f"the server at {url} does not serve {model!r}; it serves {', '.join(ids)}")
        return model
    return ids[0] if ids else None
