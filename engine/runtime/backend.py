"""Where generation runs: a model loaded here, or an inference server, chosen by the settings."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol, Sequence

from engine.runtime.chat_format import ChatFormat
from engine.runtime.model_file import ProgressFn
from engine.runtime.settings import RuntimeSettings


class Runtime(Protocol):
    """What the context window, the agent loop and the Engine use of a model, wherever it runs."""

    settings: RuntimeSettings
    n_ctx: int
    chat_format: ChatFormat

    @property
    def name(self) -> str: ...

    @property
    def bos_tokens(self) -> list[int]: ...

    def tokenize(self, text: str, add_bos: bool = False, special: bool = True) -> list[int]: ...

    def count_tokens(self, text: str) -> int: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def require_room(self, fixed_tokens: int, reserve: int, what: str = "the system prompt") -> None: ...

    def stream(self, prompt_tokens: Sequence[int], **options) -> Iterator[str]: ...

    def generate_text(self, prompt_tokens: Sequence[int], **options) -> str: ...

    def grammar_for_schema(self, schema: dict): ...

    def close(self) -> None: ...


def open_runtime(settings: RuntimeSettings, progress: ProgressFn | None = None,
                 cache_dir: Path | None = None) -> Runtime:
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
