"""Where generation runs: a model loaded here, or an inference server, chosen by the settings."""

from __future__ import annotations

from pathlib import Path

from engine.runtime.model_file import ProgressFn
from engine.runtime.settings import RuntimeSettings


def open_runtime(settings: RuntimeSettings, progress: ProgressFn | None = None, cache_dir: Path | None = None):
    """A :class:`~engine.runtime.model.ModelRuntime`, or a
    :class:`~engine.runtime.remote.RemoteModelRuntime` when ``settings.server_url`` is set.

    Both have the same interface; only the local one has a KV cache for the KV pager to manage
    (a server keeps its own prefix cache).
    """
    if settings.remote:
        from engine.runtime.remote import RemoteModelRuntime

        if progress:
            progress("Connecting to the inference server", 0, 1)
        runtime = RemoteModelRuntime(settings)
        if progress:
            progress("Connecting to the inference server", 1, 1)
        return runtime
    from engine.runtime.model import ModelRuntime

    return ModelRuntime(settings, progress, cache_dir)
