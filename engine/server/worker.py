"""One thread owns the engine: requests from any number of clients queue on it in arrival order.

The engine's calls are meant to come from one thread (one model, one KV cache); the server's
event loop stays free to accept, refuse and stream while a turn runs. ``submit`` is the one
thing a host provides: ``llmos serve`` has a thread of its own, the desktop app hands the jobs
to the engine thread its window already uses (subclassing this).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable, Iterable, TypeVar

T = TypeVar("T")
_END = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class EngineWorker:
    """Runs callables on the engine's thread; ``stream`` relays an iterator's items as they come."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmos-engine")

    @property
    def engine(self):
        return self._engine

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the engine's thread, after what was submitted before; it never raises."""
        self._thread.submit(job)

    def announce(self, changes) -> None:
        """What a request changed in memory (a host with views redraws them); nothing here."""

    async def call(self, action: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def job() -> None:
            try:
                result = action()
            except BaseException as exc:  # handed to the awaiting request
                _post(loop, _settle, done, None, exc)
            else:
                _post(loop, _settle, done, result, None)

        self.submit(job)
        return await done

    async def stream(self, produce: Callable[[], Iterable[T]]) -> AsyncIterator[T]:
        """Items of ``produce()`` (run on the engine's thread) as they are made; its error is raised here."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def job() -> None:
            try:
                for item in produce():
                    _post(loop, queue.put_nowait, item)
            except BaseException as exc:  # handed to the awaiting request, never lost in the thread
                _post(loop, queue.put_nowait, _Raised(exc))
            finally:
                _post(loop, queue.put_nowait, _END)

        self.submit(job)
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            yield item

    def close(self) -> None:
        """Wait for the running call to finish, then close the engine on its own thread."""
        self._thread.submit(self._engine.close).result()
        self._thread.shutdown(wait=True)


def _post(loop: asyncio.AbstractEventLoop, callback, *args) -> None:
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:  # the event loop is gone (server shutting down): nobody listens
        pass


def _settle(future: asyncio.Future, result, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
