"""The routes: models, chat completions (whole or streamed) and embeddings, over one engine worker."""

from __future__ import annotations

import base64
import json
import struct
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from engine.api import CancelFlag, Changes, TokenEvent, clean_text
from engine.errors import DataDirError, InputError, LlmosError, ModelFileError, NotFoundError
from engine.server.access import AccessGuard
from engine.server.chat_request import ChatRequest
from engine.server.chat_turn import TurnTally, sse
from engine.server.errors import ApiError, error_response
from engine.server.worker import EngineWorker

MAX_BODY_BYTES = 8 * 2**20
MAX_EMBEDDING_INPUTS = 2048


def build_app(worker: EngineWorker, token: str, allowed_hosts: frozenset[str] = frozenset(),
              cors_origins: tuple[str, ...] = ()):
    """The ASGI app: CORS only for named origins, then the access guard, then the routes."""
    routes = OpenAIRoutes(worker)
    app = Starlette(routes=[
        Route("/v1/models", routes.models, methods=["GET"]),
        Route("/v1/chat/completions", routes.chat_completions, methods=["POST"]),
        Route("/v1/embeddings", routes.embeddings, methods=["POST"]),
    ], exception_handlers={404: _not_found, 405: _not_allowed})
    guarded = AccessGuard(app, token, allowed_hosts)
    if not cors_origins:
        return guarded
    return CORSMiddleware(guarded, allow_origins=list(cors_origins), allow_methods=["GET", "POST"],
                          allow_headers=["Authorization", "Content-Type"])


class OpenAIRoutes:
    def __init__(self, worker: EngineWorker) -> None:
        self.worker = worker
        self.engine = worker.engine

    async def models(self, request: Request) -> Response:
        def listing() -> dict:
            model = self.engine.runtime.name
            return {"object": "list", "data": [_agent_entry(agent, model, self.engine.stats(agent.name))
                                               for agent in self.engine.agents()]}
        return await self._answer(listing)

    async def chat_completions(self, request: Request) -> Response:
        try:
            chat = ChatRequest.parse(await _json_body(request))
            texts = [_checked_text(text, i) for i, text in enumerate(chat.new_messages)]
            await self.worker.call(lambda: self.engine.agent(chat.agent))
        except ApiError as exc:
            return exc.response()
        except LlmosError as exc:
            return _llmos_error(exc)
        cancel, tally = CancelFlag(), TurnTally(chat.agent)

        def turn():
            for earlier in texts[:-1]:  # several new user messages: all stored, the last one answered
                self.engine.observe(earlier, agent=chat.agent)
            yield from self.engine.send(texts[-1], agent=chat.agent, cancel=cancel)

        if chat.stream:
            return StreamingResponse(self._streamed(turn, tally, cancel, chat.include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        try:
            async for event in self.worker.stream(turn):
                tally.take(event)
        except LlmosError as exc:
            return _llmos_error(exc)
        finally:
            cancel.set()
            self._announce(tally)
        return JSONResponse(tally.completion())

    def _announce(self, tally: TurnTally) -> None:
        """Tell the host what the turn changed (the app redraws its views); a cut-off turn stored messages."""
        self.worker.announce(tally.done.changes if tally.done else Changes(messages=True, timeline=True))

    async def _streamed(self, turn, tally: TurnTally, cancel: CancelFlag, include_usage: bool) -> AsyncIterator[str]:
        """The turn as chunks; a client that hangs up closes this generator, which stops the model."""
        try:
            yield sse(tally.chunk({"role": "assistant", "content": ""}))
            async for event in self.worker.stream(turn):
                step = tally.take(event)
                if isinstance(event, TokenEvent) and event.text:
                    yield sse(tally.chunk({"content": event.text}))
                elif step is not None:
                    yield sse(tally.chunk({}, extension={"step": step}))
            yield sse(tally.chunk({}, tally.finish_reason, extension=tally.extension()))
            if include_usage:
                yield sse(tally.usage_chunk())
            yield sse("[DONE]")
        except LlmosError as exc:  # the status line is sent already: the error goes in the stream
            yield sse({"error": {"message": str(exc), "type": "server_error", "param": None, "code": None}})
        finally:
            cancel.set()
            self._announce(tally)

    async def embeddings(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
            texts, encoding = _embedding_inputs(body, self.engine.embedding_model)
        except ApiError as exc:
            return exc.response()

        def embed() -> dict:
            vectors, tokens = self.engine.embed(texts)
            return {"object": "list", "model": self.engine.embedding_model, "data": [
                {"object": "embedding", "index": i, "embedding": _encoded(vector, encoding)}
                for i, vector in enumerate(vectors)], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return await self._answer(embed)

    async def _answer(self, action) -> Response:
        try:
            return JSONResponse(await self.worker.call(action))
        except LlmosError as exc:
            return _llmos_error(exc)


def _agent_entry(agent, model: str, stats) -> dict:
    """An agent as an OpenAI model; the extension says which model runs it and what it has stored."""
    return {"id": agent.name, "object": "model", "created": int(agent.created_at.timestamp()), "owned_by": "llmos",
            "llmos": {"model": model, "messages": stats.messages, "passages": stats.passages}}


async def _json_body(request: Request) -> object:
    """The body as JSON, refused before it is read whole when it is over the size limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is over {MAX_BODY_BYTES // 2**20} MiB", code="request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is over {MAX_BODY_BYTES // 2**20} MiB", code="request_too_large")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "the request body is not UTF-8") from None
    except RecursionError:
        raise ApiError(400, "the request body nests too deeply") from None
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc})") from None


def _checked_text(text: str, index: int) -> str:
    try:
        return clean_text(text)
    except InputError as exc:
        raise ApiError(400, f"new message {index + 1}: {exc}", param="messages") from None


def _embedding_inputs(body: object, model_name: str) -> tuple[list[str], str]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model", model_name)
    if model != model_name:
        raise ApiError(404, f"no embedding model {model!r}: this server embeds with {model_name!r}",
                       code="model_not_found", param="model")
    given = body.get("input")
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        raise ApiError(400, "`input` must be a non-empty string or a list of them (token arrays are not "
                            "supported)", param="input")
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise ApiError(400, f"at most {MAX_EMBEDDING_INPUTS} inputs per request", param="input")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise ApiError(400, "`encoding_format` must be float or base64", param="encoding_format")
    return texts, encoding


def _encoded(vector: list[float], encoding: str):
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _llmos_error(exc: LlmosError) -> Response:
    if isinstance(exc, NotFoundError):
        return error_response(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, InputError):
        return error_response(400, str(exc))
    if isinstance(exc, ModelFileError):
        return error_response(503, str(exc), code="model_unavailable")
    if isinstance(exc, DataDirError):
        return error_response(500, str(exc), code="storage_error")
    return error_response(400, str(exc))


async def _not_found(request: Request, exc) -> Response:
    return error_response(404, f"no route {request.url.path}: this server has /v1/models, "
                               "/v1/chat/completions and /v1/embeddings", code="unknown_url")


async def _not_allowed(request: Request, exc) -> Response:
    return error_response(405, f"{request.method} is not allowed on {request.url.path}")
