"""KV-cache-aware paging: keep llama.cpp's cache equal to the segment list, paying only for change.

The context is an ordered list of segments (``system | core:persona | core:human | summary |
recalled | msg 1 … msg n``). Between turns the list changes in a few places: messages appended,
the oldest messages evicted and the summary replaced, a core block edited. Re-sending the whole
prompt, or reusing only its longest common prefix, re-evaluates everything after the first
change; on a CPU that is seconds per turn. :meth:`KVPager.sync` keeps what is still there,
drops what left, shifts what moved (RoPE K-shift) and evaluates only new or changed segments.

Kept cells after a change were computed while attending to the old content. Modes trade that
drift against work: ``fast`` shifts only; ``window`` also re-evaluates the first ``window``
tokens after each change; ``exact`` re-evaluates everything after the first change (as a prefix
cache would). ``fast`` is the default: in ``bench/paging.py`` (2048-token window, three evictions,
three core edits) it picks the same next token as ``exact`` at 99.5 % of positions, ``window``
(128) at 99.4 %, so the refresh buys nothing measurable while costing 1.4-1.7x the prompt time.

Typical turn: ``sync(segments)`` → ``runtime.stream(tokens + generation prompt)`` (evaluates only
the generation prompt) → ``save(segments + [reply])``; summaries run inside :meth:`aside`; at
start, :meth:`restore` loads the saved cache that shares the longest start with the segments.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence, TypeVar

import numpy as np

from engine.errors import ContextTooSmallError
from engine.paths import default_cache_dir
from engine.runtime.kv_cells import CellFormatError
from engine.runtime.kv_ops import KVError, SequenceCache
from engine.runtime.kv_plan import Keep, SyncPlan, plan_sync, reevaluate_after_changes, truncated_to
from engine.runtime.kv_state import KVStateStore
from engine.runtime.model_file import file_fingerprint
from engine.runtime.segment import Segment
from engine.runtime.settings import DEFAULT_PAGING_MODE, PAGING_MODES

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 128
COMPACT_AFTER_DROPPING = 256
"""Compact the cache (:meth:`SequenceCache.compact`) when a sync frees at least this many cells
before its last kept one. llama.cpp sizes a decode's attention by the highest cell in use; the
next few turns refill a small gap anyway, while an eviction frees about half the window."""
T = TypeVar("T")


@dataclass(frozen=True)
class SyncStats:
    """What one :meth:`KVPager.sync` cost; the UI shows it per turn."""

    mode: str
    evaluated: int
    reused: int
    shifted: int
    dropped: int
    ms: float
    fallback: bool
    changed: tuple[str, ...]
    total: int


class KVPager:
    """Pages segments in and out of one runtime's KV cache (sequence 0 of its context)."""

    def __init__(self, runtime, mode: str = DEFAULT_PAGING_MODE, window: int = DEFAULT_WINDOW,
                 state_dir: Path | None = None) -> None:
        if mode not in PAGING_MODES:
            raise ValueError(f"unknown paging mode {mode!r}; use one of {', '.join(PAGING_MODES)}")
        self.runtime, self.mode, self.window = runtime, mode, window
        self.llama = runtime.llama
        self.cache = SequenceCache(self.llama)
        self._state_dir = state_dir
        self._store: KVStateStore | None = None

    def close(self) -> None:
        self.cache.close()

    @property
    def tokens(self) -> tuple[int, ...]:
        """The tokens the cache holds, by position (a reply generated after a sync included)."""
        return tuple(self.llama.input_ids[: self.llama.n_tokens].tolist())

    # -- sync ---------------------------------------------------------------------------------

    def sync(self, segments: Sequence[Segment], logits: bool = True) -> SyncStats:
        """Bring the cache to exactly the concatenated segments' tokens; report the work.

        With ``logits`` the last decode is the last token's, so generation samples at once.
        """
        start = time.perf_counter()
        segments = tuple(segments)
        plan = plan_sync(self._cached_tokens(), [s.tokens for s in segments])
        if len(plan.target) >= self.llama.n_ctx():
            raise ContextTooSmallError(f"the context ({len(plan.target)} tokens) does not fit in "
                                       f"n_ctx {self.llama.n_ctx()}")
        plan, fallback = self._shaped(plan)
        plan, fallback, extra = self._applied(plan, fallback, logits)
        self._record(plan.target)
        stats = SyncStats(self.mode, plan.evaluated + extra, plan.reused - extra, plan.shifted,
                          sum(hi - lo for lo, hi in plan.drops()), (time.perf_counter() - start) * 1000,
                          fallback, _changed_keys(plan, segments), len(plan.target))
        log.debug("kv sync: %s", stats)
        return stats

    def _cached_tokens(self) -> list[int]:
        n = self.llama.n_tokens
        if self.cache.pos_max() != n - 1:
            log.warning("KV cache ends at position %d but %d tokens are recorded; starting over",
                        self.cache.pos_max(), n)
            self.cache.clear()
            self._record(())
            return []
        return self.llama.input_ids[:n].tolist()

    def _shaped(self, plan: SyncPlan) -> tuple[SyncPlan, bool]:
        """The plan for this mode, or the re-evaluate-from-first-change fallback.

        The fallback also runs when sliding-window cells were already pruned (``pos_min`` above
        0): a change in the middle would need them.
        """
        if self.cache.can_shift and self.cache.pos_min() <= 0:
            window = {"fast": 0, "window": self.window, "exact": None}[self.mode]
            return reevaluate_after_changes(plan, window), False
        keep = plan.prefix
        if self.cache.n_swa and self.cache.pos_min() > max(0, keep - self.cache.n_swa):
            keep = 0  # the sliding-window cells the next token needs were already pruned
        needed = any(k.old or k.new for k in plan.keeps) or keep < plan.prefix
        return truncated_to(plan, keep), needed

    def _applied(self, plan: SyncPlan, fallback: bool, logits: bool) -> tuple[SyncPlan, bool, int]:
        """Apply ``plan``; return the plan that ran, whether a fallback ran, and extra tokens
        re-evaluated to restore sliding-window context."""
        try:
            return plan, fallback, self._apply(plan) + (self._logits_for_last(plan.target) if logits else 0)
        except (KVError, CellFormatError) as exc:
            log.warning("KV paging failed (%s); re-evaluating the whole window", exc)
            self.cache.clear()
            full = truncated_to(SyncPlan((), plan.target, plan.old_length), 0)
            self.cache.evaluate_at(plan.target, 0)
            return full, True, 0

    def _apply(self, plan: SyncPlan) -> int:
        for lo, hi in reversed(plan.drops()):
            self.cache.drop(lo, -1 if hi == plan.old_length else hi)
        if sum(hi - lo for lo, hi in plan.drops() if hi < plan.old_length) >= COMPACT_AFTER_DROPPING:
            self.cache.compact()  # before the shifts, so no pending K-shift has to be settled
        for keep in _shift_order(plan.keeps):
            self.cache.shift(keep.old, keep.old + keep.length, keep.delta)
        end, extra = len(plan.target), 0
        for run in plan.evaluates:
            stop = run.new + run.length
            if stop == end:
                self.cache.evaluate_at(plan.target[run.new:stop], run.new)
                continue
            start = min(run.new, self.cache.window_start(run.new))
            extra += run.new - start
            self.cache.evaluate_inside(plan.target[start:stop], start)
        return extra

    def _logits_for_last(self, target: Sequence[int]) -> int:
        """Make the last decode the target's last token, with its logits; return tokens decoded.

        The plan may end on kept cells (the generation prompt's markup found again in the cache),
        so the last decode was a hole filled without logits, or there was none: generation must
        not sample from whatever logits llama.cpp kept. Re-evaluating one token is the cost.
        """
        end = len(target)
        if not end or self.cache.logits_at == end - 1:
            return 0
        self.cache.drop(end - 1)
        self.cache.evaluate_at([target[end - 1]], end - 1)
        return 1

    def _record(self, tokens: Sequence[int]) -> None:
        """Make ``Llama``'s own bookkeeping describe the cache, so ``generate`` reuses it."""
        llama, n = self.llama, len(tokens)
        llama.input_ids[:n] = tokens
        llama.n_tokens = n
        fresh = n > 0 and self.cache.logits_at == n - 1
        llama._requires_eval = not fresh
        if fresh and llama._logits_all:
            llama.scores[n - 1, :] = self.cache.last_logits()

    def next_logits(self) -> np.ndarray:
        """Logits for the token after the cache (re-evaluating the last token if they are stale)."""
        n = self.llama.n_tokens
        if n == 0:
            raise ValueError("the cache is empty")
        if self._logits_for_last(self.tokens):
            self._record(self.tokens)
        return self.cache.last_logits()

    # -- side prompts -------------------------------------------------------------------------

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Run another prompt (a summary) on this context, then put the conversation back.

        The sequence is saved (``llama_state_seq_get_data``), its cells are freed so the side
        prompt has the whole window (a summary is asked for when the window is full), and the
        sequence is restored afterwards (``llama_state_seq_set_data``).
        """
        tokens = self.tokens
        blob = self.cache.save() if tokens else b""
        self.cache.clear()
        self._record(())
        try:
            yield
        finally:
            self.cache.clear()
            if blob:
                self.cache.load(blob)
            self._record(tokens)

    def run_aside(self, fn: Callable[[], T]) -> T:
        """``fn()`` inside :meth:`aside`."""
        with self.aside():
            return fn()

    # -- persistence --------------------------------------------------------------------------

    @property
    def store(self) -> KVStateStore:
        if self._store is None:
            directory = self._state_dir or default_cache_dir() / "kv"
            self._store = KVStateStore(directory, file_fingerprint(self.runtime.model_file.path))
        return self._store

    def save(self, segments: Sequence[Segment]) -> Path:
        """Sync to ``segments`` (a reply still in the cache costs only its end), then write the state.

        A window that outgrew the context after a long reply is evicted at the next turn; until
        then the cache as it stands (the last prompt and its reply) is what a restart can reuse.
        """
        try:
            self.sync(segments, logits=False)
        except ContextTooSmallError:
            log.info("window larger than the context; saving the cache as it stands")
        return self.store.write(self.tokens, self.cache.save_context())

    def restore(self, segments: Sequence[Segment]) -> int:
        """Load the saved state the next :meth:`sync` can keep most of for ``segments``; return how
        many tokens it keeps (0, logged, when none is usable). The sync then evaluates the rest:
        a changed part near the head (a new page-in) costs that part, not the window after it."""
        segments = tuple(segments)
        target = tuple(t for s in segments for t in s.tokens)
        saved = self.store.closest(target, reusable=lambda tokens: self._reusable(tokens, segments)) if target else None
        if saved is None:
            return 0
        try:
            self.cache.clear()
            self.cache.load_context(saved.blob)
        except KVError as exc:
            log.warning("ignoring saved KV state: %s", exc)
            self._record(())
            return 0
        if self.cache.pos_max() != len(saved.tokens) - 1:
            log.warning("ignoring saved KV state: it holds %d positions, not %d",
                        self.cache.pos_max() + 1, len(saved.tokens))
            self.cache.clear()
            self._record(())
            return 0
        self._record(saved.tokens)
        return saved.shared

    def _reusable(self, cached: Sequence[int], segments: Sequence[Segment]) -> int:
        """How many of ``cached`` a sync to ``segments`` would keep in this mode (moved cells too)."""
        plan = plan_sync(cached, [s.tokens for s in segments])
        if not self.cache.can_shift:
            return plan.prefix
        window = {"fast": 0, "window": self.window, "exact": None}[self.mode]
        return reevaluate_after_changes(plan, window).reused

def _shift_order(keeps: Sequence[Keep]) -> list[Keep]:
    """Leftward moves first, left to right; then rightward moves, right to left.

    ``llama_memory_seq_add`` selects cells by position range, so a run must never move onto
    positions that a run not yet moved still occupies.
    """
    left = [k for k in keeps if k.delta < 0]
    right = [k for k in keeps if k.delta > 0]
    return left + right[::-1]


def _changed_keys(plan: SyncPlan, segments: Sequence[Segment]) -> tuple[str, ...]:
    """Keys of the segments with at least one evaluated token, in order."""
    keys, start = [], 0
    spans = [(r.new, r.new + r.length) for r in plan.evaluates]
    for seg in segments:
        end = start + len(seg.tokens)
        if any(lo < end and start < hi for lo, hi in spans):
            keys.append(seg.key)
        start = end
    return tuple(keys)
