"""The engine's public facade: the one object the desktop and the CLI talk to."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Iterator

from engine.errors import InputError
from engine.events import DoneEvent, TokenEvent, TurnEvent
from engine.paths import default_data_dir
from engine.runtime.model import CancelFlag, GenerationStats, ModelRuntime, SamplingParams
from engine.runtime.model_file import ProgressFn
from engine.runtime.settings import RuntimeSettings

log = logging.getLogger(__name__)

SYSTEM_PROMPT = "You are a helpful, friendly assistant. Answer briefly and truthfully."
# A base model without a chat template learns the turn pattern from examples, and tends to run
# past the end of its turn: it gets these examples and its reply ends at the first line break.
BASE_MODEL_EXAMPLES = (
    ("user", "Hi! How are you today?"),
    ("assistant", "I'm doing well, thank you for asking! How can I help you?"),
    ("user", "What is the capital of Italy?"),
    ("assistant", "The capital of Italy is Rome."),
)
MAX_REPLY_TOKENS = 256


class Engine:
    """Owns the model and the data directory; every engine call goes through here."""

    def __init__(self, data_dir: Path | None = None, settings: RuntimeSettings = RuntimeSettings(),
                 cache_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.settings = settings
        self.cache_dir = cache_dir
        self._runtime: ModelRuntime | None = None
        self._load_lock = threading.Lock()
        self._history: list[tuple[str, str]] = []

    def load_model(self, progress: ProgressFn | None = None) -> ModelRuntime:
        """Load the model once (safe to call from a background thread)."""
        with self._load_lock:
            if self._runtime is None:
                self._runtime = ModelRuntime(self.settings, progress, self.cache_dir)
            return self._runtime

    @property
    def runtime(self) -> ModelRuntime:
        return self.load_model()

    def send(self, text: str, cancel: CancelFlag | None = None,
             sampling: SamplingParams = SamplingParams()) -> Iterator[TurnEvent]:
        """Answer ``text``: yields token events, then one :class:`DoneEvent`."""
        if not text.strip():
            raise InputError("the message is empty")
        runtime = self.runtime
        self._history.append(("user", text))
        prompt = self._prompt_tokens(runtime)
        stats = GenerationStats()
        for piece in runtime.stream(prompt, max_tokens=MAX_REPLY_TOKENS, sampling=sampling,
                                    cancel=cancel, stats=stats, stop_strings=self._stops(runtime)):
            yield TokenEvent(piece)
        reply = stats.text.strip()
        self._history.append(("assistant", reply))
        yield DoneEvent(reply, stats.stop_reason, stats.generated_tokens, stats.tokens_per_second, stats.total_ms)

    @staticmethod
    def _is_base_model(runtime: ModelRuntime) -> bool:
        return runtime.model_file.header.chat_template is None

    def _stops(self, runtime: ModelRuntime) -> tuple[str, ...]:
        return ("\n",) if self._is_base_model(runtime) else ()

    def _prompt_tokens(self, runtime: ModelRuntime) -> list[int]:
        fmt = runtime.chat_format
        examples = BASE_MODEL_EXAMPLES if self._is_base_model(runtime) else ()
        system_text = fmt.render("system", SYSTEM_PROMPT) + "".join(fmt.render(r, c) for r, c in examples)
        system = runtime.bos_tokens + runtime.tokenize(system_text)
        tail = runtime.tokenize(fmt.generation_prompt)
        runtime.require_room(len(system) + len(tail), MAX_REPLY_TOKENS // 4)
        budget = runtime.n_ctx - len(system) - len(tail) - MAX_REPLY_TOKENS
        turns: list[int] = []
        for role, content in reversed(self._history):
            tokens = runtime.tokenize(fmt.render(role, content))
            if turns and len(tokens) + len(turns) > budget:
                break
            turns = tokens[-max(budget, 1):] + turns
        return system + turns + tail

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
