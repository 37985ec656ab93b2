"""Settings of the model runtime: which model, how big a window, where it runs, how the KV cache is paged."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_N_CTX = 4096
DEFAULT_N_SEQ_MAX = 3
"""Sequence 0 is the conversation; the KV pager uses 1 and 2 to pin and park cells (see kv_ops)."""
PAGING_MODES = ("fast", "window", "exact")
"""How the KV pager treats cells kept after a change (see kv_pager): shift only; also re-evaluate a
bounded window after each change; re-evaluate everything after the first change."""
DEFAULT_PAGING_MODE = "fast"
DEFAULT_SERVER_TIMEOUT_S = 120.0


def default_threads() -> int:
    """Physical-ish core count: llama.cpp decodes fastest at one thread per core."""
    return max(1, min(8, os.cpu_count() or 1))


@dataclass(frozen=True)
class RuntimeSettings:
    """How to load the model: ``model_path`` is a GGUF file or an embedded model's id; None is the default."""

    model_path: Path | str | None = None
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int | None = None
    n_gpu_layers: int = 0
    seed: int = 0
    n_batch: int = 512
    n_seq_max: int = DEFAULT_N_SEQ_MAX
    weight_repack: bool | None = None
    """llama.cpp's CPU weight layouts (repack, AMX); None: automatic, see weight_layout."""
    paging_mode: str = DEFAULT_PAGING_MODE
    """One of :data:`PAGING_MODES`."""
    server_url: str | None = None
    """An OpenAI-compatible inference server (llama-server, vLLM, llama_cpp.server) that generates
    instead of a local model; memory stays here. None: the model runs on this computer."""
    server_model: str | None = None
    """The model name the server is asked for; None: the first one it lists."""
    api_key_env: str | None = None
    """The environment variable that holds the server's API key: the key itself is never stored."""
    server_slot: int | None = None
    """llama-server only: the slot the conversation is pinned to, so its cached prompt stays
    there; None lets the server pick the slot whose cache matches best."""
    server_timeout_s: float = DEFAULT_SERVER_TIMEOUT_S
    """How long to wait to connect, and for each next piece of a reply."""
    chat_format: str | None = None
    """A named turn format (see engine.runtime.remote.formats) for a server that does not publish
    its chat template; None: the server's template, else one guessed from the model's name."""

    def __post_init__(self) -> None:
        if self.paging_mode not in PAGING_MODES:
            raise ValueError(f"unknown paging mode {self.paging_mode!r}; use one of {', '.join(PAGING_MODES)}")

    def with_changes(self, **changes) -> "RuntimeSettings":
        return replace(self, **changes)

    @property
    def threads(self) -> int:
        return self.n_threads or default_threads()

    @property
    def remote(self) -> bool:
        """Whether generation runs on an inference server (the KV pager then has no cache to page)."""
        return bool(self.server_url)

    def api_key(self) -> str | None:
        """The key from :attr:`api_key_env`; None when no variable is named or it is unset or empty."""
        return (os.environ.get(self.api_key_env) or None) if self.api_key_env else None
