"""Runs engine work off the UI thread and brings results back through signals.

One thread owns the Engine: it opens the memory, loads the model, runs turns and mutations,
in order. A second thread serves reads (history, timeline, search, core blocks) so that
scrolling and searching keep working while a reply is being generated; DuckDB gives each
thread its own cursor. Callers pass a function of the engine and get ``success`` or
``failure`` called back on the UI thread; they must not touch widgets inside that function.
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot
from engine.api import Engine
from engine.errors import LlmosError

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[str], None]


@dataclass
class Job:
    id: int
    fn: Callable[..., Any]
    streaming: bool = False
    changes: Any = None


@dataclass
class _Callbacks:
    success: Success | None
    failure: Failure | None
    on_event: Callable[[Any], None] | None = None
    changes: Any = None


class _Executor(QObject):
    """Lives in a worker thread; runs jobs one after another."""

    finished = Signal(int, object)
    failed = Signal(int, str)
    event = Signal(int, object)

    def __init__(self, client: "EngineClient") -> None:
        super().__init__()
        self.client = client

    @Slot(object)
    def run(self, job: Job) -> None:
        engine = self.client.engine
        try:
            if engine is None and not getattr(job.fn, "opens_engine", False):
                raise RuntimeError("the memory is not open")
            if job.streaming:
                result = job.fn(engine, lambda ev: self.event.emit(job.id, ev))
            else:
                result = job.fn(engine)
        except Exception as exc:  # every failure goes back to the UI; none may kill the thread
            self.failed.emit(job.id, _describe(exc))
            return
        self.finished.emit(job.id, result)


def _describe(exc: Exception) -> str:
    if isinstance(exc, LlmosError):
        return str(exc)
    log.error("engine call failed:\n%s", "".join(traceback.format_exception(exc)))
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class EngineConfig:
    """What the engine is opened with (from the command line and the saved settings)."""

    data_dir: Path | None = None
    cache_dir: Path | None = None
    settings: Any = None          # engine.api.RuntimeSettings
    agent_settings: Any = None    # engine.agent.settings.AgentSettings
    extra: dict = field(default_factory=dict)


class EngineClient(QObject):
    """The UI's one handle on the engine: submit work, get results and change notices back."""

    opened = Signal()
    open_failed = Signal(str)
    model_progress = Signal(str, int, int)
    warm_progress = Signal(str, int, int)  # the embedding models loading (unpacked the first time)
    model_ready = Signal(str)
    model_failed = Signal(str)
    changed = Signal(object)  # engine.api.Changes: every view decides for itself what to redraw
    error = Signal(str)       # a failure nobody handled: shown once by the main window

    _submit_write = Signal(object)
    _submit_read = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = None
        self.model_name = ""
        self._ids = itertools.count(1)
        self._callbacks: dict[int, _Callbacks] = {}
        self._threads: list[QThread] = []
        self._writer = self._start_thread("llmos-engine", self._submit_write)
        self._reader = self._start_thread("llmos-reader", self._submit_read)

    def _start_thread(self, name: str, submit: Signal) -> _Executor:
        thread = QThread(self)
        thread.setObjectName(name)
        executor = _Executor(self)
        executor.moveToThread(thread)
        submit.connect(executor.run)
        executor.finished.connect(self._on_finished)
        executor.failed.connect(self._on_failed)
        executor.event.connect(self._on_event)
        thread.start()
        self._threads.append(thread)
        return executor

    # -- submitting ---------------------------------------------------------------------------

    def op(self, fn: Callable, success: Success | None = None, failure: Failure | None = None,
           changes: Any = None) -> int:
        """Run ``fn(engine)`` on the engine thread (for anything that writes or needs the model).

        ``changes`` (an ``engine.api.Changes``) is announced through ``changed`` after success.
        """
        return self._submit(self._submit_write, Job(next(self._ids), fn), success, failure, changes=changes)

    def query(self, fn: Callable, success: Success | None = None, failure: Failure | None = None) -> int:
        """Run a read ``fn(engine)`` on the reader thread; it does not wait behind a reply."""
        return self._submit(self._submit_read, Job(next(self._ids), fn), success, failure)

    def stream(self, fn: Callable, on_event: Callable[[Any], None], success: Success | None = None,
               failure: Failure | None = None) -> int:
        """Run ``fn(engine, emit)`` on the engine thread; each ``emit(x)`` reaches ``on_event`` in order."""
        job = Job(next(self._ids), fn, streaming=True)
        return self._submit(self._submit_write, job, success, failure, on_event)

    def run_detached(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the engine thread, in turn with the UI's jobs; callable from any thread.

        Nothing comes back: ``fn`` reports its own result (the API server does) and must not raise.
        """
        self._submit_write.emit(Job(next(self._ids), lambda _engine: fn()))

    def _submit(self, signal: Signal, job: Job, success, failure, on_event=None, changes=None) -> int:
        self._callbacks[job.id] = _Callbacks(success, failure, on_event, changes)
        signal.emit(job)
        return job.id

    # -- results (UI thread) ------------------------------------------------------------------

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: Any) -> None:
        callbacks = self._callbacks.pop(job_id, None)
        if callbacks is None:
            return
        if callbacks.success:
            callbacks.success(result)
        if callbacks.changes is not None:
            self.changed.emit(callbacks.changes)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        callbacks = self._callbacks.pop(job_id, None)
        if callbacks and callbacks.failure:
            callbacks.failure(message)
        else:
            self.error.emit(message)

    @Slot(int, object)
    def _on_event(self, job_id: int, event: Any) -> None:
        callbacks = self._callbacks.get(job_id)
        if callbacks and callbacks.on_event:
            callbacks.on_event(event)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    # -- lifecycle ----------------------------------------------------------------------------

    def open(self, config: EngineConfig) -> None:
        """Open the memory, then load the model; ``opened`` comes as soon as the memory is usable."""

        def open_engine(_):
            kwargs = {"agent_settings": config.agent_settings} if config.agent_settings else {}
            if config.settings is not None:
                kwargs["settings"] = config.settings
            self.engine = Engine(config.data_dir, cache_dir=config.cache_dir, **kwargs, **config.extra)
            self.engine.agents()
            return self.engine

        open_engine.opens_engine = True
        self.op(open_engine, lambda _: self.opened.emit(), self.open_failed.emit)
        self.load_model()

    def load_model(self) -> None:
        def load(engine):
            runtime = engine.load_model(lambda stage, done, total: self.model_progress.emit(stage, done, total))
            return runtime.name

        def ready(name: str) -> None:
            self.model_name = name
            self.model_ready.emit(name)

        self.op(load, ready, self.model_failed.emit)

        def warm_up(engine):
            engine.warm_up(lambda stage, done, total: self.warm_progress.emit(stage, done, total))

        def warm_up_failed(message: str) -> None:
            log.warning("warm-up failed: %s", message)
            self.warm_progress.emit("", 1, 1)  # nothing is loading any more: the search loads on first use

        self.op(warm_up, failure=warm_up_failed)

    def reconfigure(self, settings: Any) -> None:
        """Close the model and load it again with new settings (engine.api.RuntimeSettings), in the background."""
        self.model_name = ""
        self.op(lambda engine: engine.reconfigure(settings))
        self.load_model()

    def close(self, timeout_ms: int = 30_000) -> None:
        """Stop reads, close the engine on its own thread (after the job in hand), stop the threads."""
        writer, reader = self._threads
        reader.quit()
        reader.wait(timeout_ms)
        engine, self.engine = self.engine, None
        self._callbacks.clear()
        if engine is not None:
            closed = threading.Event()

            def close(_):
                try:
                    engine.close()
                finally:
                    closed.set()

            close.opens_engine = True
            self._submit_write.emit(Job(next(self._ids), close))
            closed.wait(timeout_ms / 1000)
        writer.quit()
        writer.wait(timeout_ms)
