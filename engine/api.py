"""The engine's public facade: the one object the desktop and the CLI talk to.

It owns the memory store (and with it the data directory's lock), the model, the KV pager and
the agent loop. Calls are meant to come from one worker thread; ``load_model`` may run on a
background thread while the memory is already usable.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from engine.agent.call_parser import decode_call
from engine.agent.settings import AgentSettings
from engine.errors import InferenceServerError, InputError
from engine.events import (LABELS, Changes, ContextEvent, DoneEvent, FunctionCallEvent, FunctionResultEvent,
                           MemoryEvent, MemoryKind, TokenEvent, TurnEvent, label)
from engine.memory.disk_errors import storage_errors
from engine.memory.store import MemoryStore
from engine.memory.types import Agent, BlockVersion, CoreBlock, Event, Hit, Message, Page
from engine.paths import default_cache_dir, default_data_dir, default_models_dir
from engine.runtime.embedded_models import EMBEDDED_MODELS
from engine.runtime.backend import Runtime, open_runtime
from engine.runtime.model import CancelFlag
from engine.runtime.model_catalog import ModelEntry
from engine.runtime.model_file import ProgressFn
from engine.runtime.settings import DEFAULT_PAGING_MODE, PAGING_MODES, RuntimeSettings
from engine.turn_steps import TurnSteps

log = logging.getLogger(__name__)

__all__ = [
    "Engine", "MemoryStats", "Changes", "MemoryKind", "LABELS", "label",
    "TurnEvent", "TokenEvent", "FunctionCallEvent", "FunctionResultEvent", "MemoryEvent", "ContextEvent", "DoneEvent",
    "Agent", "BlockVersion", "CoreBlock", "Event", "Hit", "Message", "Page", "ModelEntry", "CancelFlag",
    "TurnSteps", "RuntimeSettings", "PAGING_MODES", "DEFAULT_PAGING_MODE", "AgentSettings", "embedded_model_ids",
    "read_call", "reply_in", "readable", "clean_text",
]

MAX_MESSAGE_CHARS = 2_000_000
DEFAULT_BLOCK_LIMIT = 2000
UPKEEP_SECONDS = 4.0
"""How long the upkeep after a turn may spend catching up old message vectors (a turn's own
messages take well under a second); the rest waits for the next turns."""


@dataclass(frozen=True)
class MemoryStats:
    """What one agent has stored."""

    messages: int
    passages: int


class Engine:
    """Everything llmos does, for one data directory."""

    def __init__(self, data_dir: Path | None = None, settings: RuntimeSettings = RuntimeSettings(),
                 cache_dir: Path | None = None, agent_settings: AgentSettings = AgentSettings(),
                 embedder=None) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.settings, self.agent_settings = settings, agent_settings
        self.store = MemoryStore.open(self.data_dir, embedder=embedder)
        self._runtime: Runtime | None = None
        self._pager = None
        self._loop = None
        self._restored: set[int] = set()
        self._load_lock = threading.Lock()

    # -- model ------------------------------------------------------------------------------------

    @property
    def model_loaded(self) -> bool:
        return self._runtime is not None

    def reconfigure(self, settings: RuntimeSettings) -> None:
        """Use new runtime settings: the loaded model (if any) is closed; the next use loads the new one.

        Memory stays open, so the conversation goes on with the new model without a restart.
        """
        with self._load_lock:
            self._close_model()
            self.settings = settings

    def _close_model(self) -> None:
        if self._pager is not None:
            try:
                self._pager.close()
            except Exception:
                log.exception("KV pager did not close cleanly")
        if self._runtime is not None:
            self._runtime.close()
        self._runtime = self._pager = self._loop = None
        self._restored.clear()

    def available_models(self, models_dir: Path | None = None) -> list[ModelEntry]:
        """Every embedded model and every GGUF in the models folder (unusable ones with their problem)."""
        from engine.runtime.model_catalog import embedded_entries, scan_models_dir

        return [*embedded_entries(self.cache_dir), *scan_models_dir(models_dir or default_models_dir())]

    def warm_up(self, progress: ProgressFn | None = None) -> None:
        """Load the embedding models and run them once, so the first turn or search does not wait.

        Loading them imports torch, which holds the GIL for a while: a UI calls this right after
        the model is loaded rather than let it happen in the middle of a streamed reply. The
        first time, the message model is unpacked into the cache (a few seconds).
        """
        stage = "Loading the embedding models"
        if progress:
            progress(stage, 0, 2)
        self.store.embedder().embed(["warm up"])
        if progress:
            progress(stage, 1, 2)
        self.store.message_embedder().embed(["warm up"])
        if progress:
            progress(stage, 2, 2)

    def load_model(self, progress: ProgressFn | None = None) -> Runtime:
        """Load the model (or connect to the inference server the settings name), the KV pager
        and the loop once (safe from a background thread)."""
        with self._load_lock:
            if self._runtime is None:
                from engine.agent.loop import AgentLoop

                runtime = open_runtime(self.settings, progress, self.cache_dir)
                self._pager = self._kv_pager(runtime)
                self._loop = AgentLoop(runtime, self.store, self._pager, self.agent_settings)
                self._runtime = runtime
            return self._runtime

    def _kv_pager(self, runtime):
        """The KV pager for a model loaded here; None for an inference server, whose own prefix
        cache does that job (it is sent the window in the same segment order)."""
        if self.settings.remote:
            return None
        from engine.runtime.kv_pager import KVPager

        return KVPager(runtime, mode=self.settings.paging_mode, state_dir=self.cache_dir / "kv")

    @property
    def runtime(self) -> Runtime:
        return self.load_model()

    @property
    def loop(self):
        self.load_model()
        return self._loop

    # -- agents -----------------------------------------------------------------------------------

    def agent(self, name: str = "default") -> Agent:
        return self.store.agents.ensure_default() if name == "default" else self.store.agents.get_by_name(name)

    def agents(self) -> list[Agent]:
        self.store.agents.ensure_default()
        return self.store.agents.list()

    def create_agent(self, name: str, persona: str | None = None, human: str | None = None,
                     blocks: dict[str, str] | None = None) -> Agent:
        """A new agent with its persona and human blocks, and any further core ``blocks`` (label -> text)."""
        kwargs = {k: v for k, v in (("persona", persona), ("human", human)) if v}
        with storage_errors(self.data_dir):
            agent = self.store.agents.create(name, **kwargs)
            for label, value in (blocks or {}).items():
                self.store.core.create(agent.id, label, value, limit=max(DEFAULT_BLOCK_LIMIT, 2 * len(value)))
        return agent

    def rename_agent(self, name: str, new_name: str) -> Agent:
        agent = self.agent(name)
        self.store.agents.rename(agent.id, new_name)
        return self.store.agents.get(agent.id)

    def delete_agent(self, name: str) -> None:
        self.store.agents.delete(self.agent(name).id)

    def export_agent(self, out: Path, agent: str = "default") -> Path:
        """Write the agent as a Letta agent file: blocks, every message, the window, and the
        archival passages in the ``llmos`` extension field."""
        from engine.agent.functions import function_specs
        from engine.agent.loop import system_prompt
        from engine.agentfile.exporter import build_document, letta_tools, write_document

        with storage_errors(self.data_dir):
            chosen = self.agent(agent)
            specs = function_specs(self.agent_settings.max_message_chars)
            model = self._runtime.name if self._runtime else Path(str(self.settings.model_path or "llmos")).stem
            document = build_document(self.store, chosen, system_prompt(chosen.name, specs),
                                      letta_tools(specs.values()), model, self.settings.n_ctx)
            write_document(document, Path(out))
        return Path(out)

    def import_agent(self, path: Path, name: str | None = None, progress: ProgressFn | None = None):
        """Read a Letta agent file into a new agent, all or nothing; returns what was imported and
        what was left out (tools are listed, never run). Raises AgentFileError for a bad file."""
        from engine.agentfile.document import plan_import, read_document
        from engine.agentfile.importer import import_plan

        plan = plan_import(read_document(Path(path)), name)
        with storage_errors(self.data_dir):
            if any(agent.name == plan.name for agent in self.store.agents.list()):
                raise InputError(f"an agent named {plan.name!r} already exists; import it under another name")
            return import_plan(self.store, plan, progress)

    # -- the conversation -------------------------------------------------------------------------

    def send(self, text: str, agent: str = "default", cancel: CancelFlag | None = None,
             name: str | None = None, created_at: datetime | None = None) -> Iterator[TurnEvent]:
        """Answer ``text``: yields events (tokens, calls, results, memory, context), then DoneEvent.

        The message is stored durably before the model sees it (the first event says so). An
        empty or whitespace-only message raises :class:`InputError` and stores nothing; a full
        disk raises :class:`DataDirError`.
        """
        text = clean_text(text)
        with storage_errors(self.data_dir):
            agent_id = self.agent(agent).id
            try:
                self._restore_once(agent_id)
            except InferenceServerError as exc:  # the server is away: the message is kept all the same
                self.store.recall.append(agent_id, "user", text, name=name, created_at=created_at)
                raise _kept(exc) from exc
            try:
                for event in self.loop.turn(agent_id, text, cancel, name=name, created_at=created_at):
                    yield event
                    if isinstance(event, DoneEvent):
                        self._after_turn(agent_id)
            except InferenceServerError as exc:
                raise _kept(exc) from exc

    def retry(self, agent: str = "default", cancel: CancelFlag | None = None) -> Iterator[TurnEvent]:
        """Answer the newest user message again without storing it twice: for a turn that failed
        (the inference server went away, a timeout) once the cause is fixed. Events as
        :meth:`send`'s, without the first one (nothing new is stored); raises
        :class:`InputError` when the agent has no message to answer."""
        with storage_errors(self.data_dir):
            agent_id = self.agent(agent).id
            try:
                self._restore_once(agent_id)
                for event in self.loop.retry(agent_id, cancel):
                    yield event
                    if isinstance(event, DoneEvent):
                        self._after_turn(agent_id)
            except InferenceServerError as exc:
                raise _kept(exc) from exc

    def resume(self, agent: str = "default") -> ContextEvent:
        """Bring the KV cache to the agent's window as it stands, from the state saved at the last
        stop when there is one, else by reading the window; returns what it cost.

        A UI calls this in the background once the model is loaded, so that the first reply after
        a start reads only the new message (a turn would otherwise do this work first).
        """
        with storage_errors(self.data_dir):
            agent_id = self.agent(agent).id
            self._restore_once(agent_id)
            window = self.loop.window
            segments = window.compile(agent_id)
            return window.report(segments, self._pager.sync(segments) if self._pager else None)

    def observe(self, text: str, agent: str = "default", name: str | None = None,
                created_at: datetime | None = None) -> Message:
        """Store a message in the conversation without a reply (a replayed or imported chat); the
        window is kept in bounds as in a turn."""
        with storage_errors(self.data_dir):
            return self.loop.observe(self.agent(agent).id, clean_text(text), name=name, created_at=created_at)

    def catch_up_indexes(self) -> None:
        """Embed what is waiting and rebuild the full-text index now, rather than off the hot path
        as the app does (a replay asks its questions right after)."""
        self.store.embed_pending()
        self.store.recall.fts.wait()
        self.store.recall.fts.rebuild()

    def recall(self, query: str, agent: str = "default", k: int = 10, now: datetime | None = None,
               tiers: tuple[str, ...] = ("recall", "archival"), prefer_named_speakers: bool = True) -> list[Hit]:
        """What page-in finds for ``query``, best first (``now``: when it is asked, for time phrases;
        ``prefer_named_speakers`` False: by topic alone, not preferring the turns of people it names)."""
        return list(self.store.retriever.search(self.agent(agent).id, query, k=k, tiers=tiers, now=now,
                                                prefer_named=prefer_named_speakers))

    def _restore_once(self, agent_id: int) -> None:
        """Load the KV state saved after this agent's last turn, once per process.

        The model is loaded first: without its pager there is nothing to restore into.
        """
        if agent_id in self._restored:
            return
        self.load_model()
        self._restored.add(agent_id)
        if self._pager is None:
            return
        try:
            self._pager.restore(self.loop.window.compile(agent_id))
        except Exception:  # a state file is a cache: never trusted, never fatal
            log.exception("saved KV state not restored")

    def _after_turn(self, agent_id: int) -> None:
        try:
            self.store.embed_pending(seconds=UPKEEP_SECONDS)
            if self._pager:
                self._pager.save(self.loop.window.compile(agent_id))
        except Exception as exc:  # embeddings and the KV state are caught up next turn
            log.warning("post-turn upkeep failed (%s); it will be retried next turn", str(exc).splitlines()[0][:200])
            log.debug("post-turn upkeep failure", exc_info=True)

    def history(self, agent: str = "default", before_id: int | None = None, limit: int = 50,
                after_id: int | None = None) -> list[Message]:
        """Messages oldest first: the newest ``limit``, those just before ``before_id``, or those after ``after_id``."""
        if before_id is None and after_id is None:
            before_id = 2**62  # the newest end of the conversation
        return self.store.recall.range(self.agent(agent).id, after_id=after_id, before_id=before_id, limit=limit)

    def message(self, message_id: int) -> Message:
        """One stored message by id (e.g. an evicted one a timeline event names)."""
        return self.store.recall.get(message_id)

    def stats(self, agent: str = "default") -> MemoryStats:
        """How much an agent has stored, for a status line."""
        agent_id = self.agent(agent).id
        return MemoryStats(self.store.recall.count(agent_id), self.store.archival.count(agent_id))

    def context_report(self, agent: str = "default") -> ContextEvent:
        window = self.loop.window
        return window.report(window.compile(self.agent(agent).id))

    # -- memory -----------------------------------------------------------------------------------

    def core_blocks(self, agent: str = "default") -> list[CoreBlock]:
        return self.store.core.blocks(self.agent(agent).id)

    def edit_core(self, label: str, value: str, agent: str = "default", reason: str = "edited by the user") -> CoreBlock:
        with storage_errors(self.data_dir):
            return self.store.core.set(self.agent(agent).id, label, value, author="user", reason=reason)

    def core_history(self, label: str, agent: str = "default") -> list[BlockVersion]:
        return self.store.core.history(self.agent(agent).id, label)

    def revert_core(self, label: str, version: int, agent: str = "default") -> CoreBlock:
        return self.store.core.revert(self.agent(agent).id, label, version, author="user")

    def search(self, query: str, tier: str = "recall", agent: str = "default", page: int = 1,
               page_size: int = 10) -> Page[Hit]:
        agent_id = self.agent(agent).id
        if tier == "archival":
            return self.store.archival.search(agent_id, query, page, page_size)
        return self.store.recall.search_text(agent_id, query, page, page_size)

    def timeline(self, agent: str = "default", kinds: tuple[str, ...] | None = None, limit: int = 200,
                 offset: int = 0) -> list[Event]:
        return self.store.timeline.query(self.agent(agent).id, kinds=kinds, limit=limit, offset=offset,
                                         newest_first=True)

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        """Vectors from the embedding model memory uses (L2-normalised), and the tokens it read."""
        embedder = self.store.embedder()
        return embedder.embed(texts).tolist(), embedder.count_tokens(texts)

    @property
    def embedding_model(self) -> str:
        from engine.memory.embeddings import MODEL_ID

        return MODEL_ID.split("/")[-1]

    def insert_passage(self, text: str, agent: str = "default", source: str = "user"):
        with storage_errors(self.data_dir):
            return self.store.archival.insert(self.agent(agent).id, clean_text(text), source=source)

    def import_files(self, paths: list[Path], agent: str = "default",
                     progress: Callable[[int, int], None] | None = None):
        from engine.memory.importer import import_files

        with storage_errors(self.data_dir):
            return import_files(self.store.archival, self.agent(agent).id, paths, progress)

    def close(self) -> None:
        self._close_model()
        self.store.close()


def _kept(exc: InferenceServerError) -> InferenceServerError:
    """The same error, saying that the message it interrupted is stored and can be answered later."""
    return type(exc)(f"{exc}. Your message is saved: retry once the server answers")


def embedded_model_ids() -> tuple[str, ...]:
    """The ids of the models that come with llmos; ``RuntimeSettings.model_path`` takes each as is."""
    return tuple(model.id for model in EMBEDDED_MODELS)


def read_call(message: Message) -> tuple[str, dict] | None:
    """The function call an assistant message holds, as ``(name, arguments)``; None if it holds none.

    The loop stores each model step as its raw call; a view shows ``send_message`` as the reply
    and the other calls as the steps taken on the way.
    """
    value = _decoded_call(message.role, message.content)
    if value is None:
        return None
    arguments = value.get("arguments")
    return value["function"], arguments if isinstance(arguments, dict) else {}


def reply_in(message: Message) -> str | None:
    """The reply to the user an assistant message holds: send_message's text, or the reply a
    memory edit carried; None when it holds none."""
    value = _decoded_call(message.role, message.content)
    return None if value is None else _reply_of(value)


def _reply_of(value: dict) -> str | None:
    if value["function"] == "send_message":
        arguments = value.get("arguments")
        return str(arguments.get("message", "")) if isinstance(arguments, dict) else ""
    reply = value.get("reply")
    return reply if isinstance(reply, str) and reply else None


def _decoded_call(role: str | None, content: str) -> dict | None:
    """The decoded call object of an assistant message, or None when it holds none."""
    return decode_call(content) if role == "assistant" else None


def readable(message: Message | Hit) -> str:
    """What a stored message says, for a person: a call's reply, or the function with its
    arguments, rather than the raw JSON the model wrote; other messages as they are."""
    content = message.text if isinstance(message, Hit) else message.content
    value = _decoded_call(message.role, content)
    if value is None:
        return content
    reply = _reply_of(value)
    if reply:
        return reply
    arguments = value.get("arguments")
    shown = ", ".join(f"{key}={json.dumps(v, ensure_ascii=False)[:80]}"
                      for key, v in (arguments.items() if isinstance(arguments, dict) else ()))
    return f"{value['function']}({shown})"


def clean_text(text: str | bytes) -> str:
    """Accept what a user may paste: invalid UTF-8 and control characters are made safe."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = "".join(ch for ch in text if ch in "\n\t\r" or unicodedata.category(ch) != "Cc").replace("\r\n", "\n")
    if not text.strip():
        raise InputError("the message is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InputError(f"the message is too long ({len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,})")
    return text
