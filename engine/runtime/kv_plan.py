"""Plan how to turn the cached tokens into the new segment list, without touching the model.

A plan splits the new token list into runs: :class:`Keep` (cells already in the cache, maybe at
another position) and :class:`Evaluate` (tokens to decode). Old cells that no run keeps are
dropped. Matching is by token content, segment by segment, in order, so a previous reply that
stayed in the cache after generation is found again as the start of the new assistant message.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Sequence

MIN_PARTIAL_MATCH = 8
"""A segment whose start continues the cache keeps that start only if it is at least this long,
so that shared turn markup alone ("<start_of_turn>user") never counts as a match."""


@dataclass(frozen=True)
class Keep:
    """Cells at old positions [old, old + length) that belong at [new, new + length)."""

    old: int
    new: int
    length: int

    @property
    def delta(self) -> int:
        return self.new - self.old


@dataclass(frozen=True)
class Evaluate:
    """New positions [new, new + length) whose tokens must be decoded."""

    new: int
    length: int


Run = Keep | Evaluate


@dataclass(frozen=True)
class SyncPlan:
    """Runs covering the target in order; ``old_length`` is how many cells the cache held."""

    runs: tuple[Run, ...]
    target: tuple[int, ...]
    old_length: int

    @property
    def keeps(self) -> tuple[Keep, ...]:
        return tuple(r for r in self.runs if isinstance(r, Keep))

    @property
    def evaluates(self) -> tuple[Evaluate, ...]:
        return tuple(r for r in self.runs if isinstance(r, Evaluate))

    @property
    def evaluated(self) -> int:
        return sum(r.length for r in self.evaluates)

    @property
    def shifted(self) -> int:
        return sum(r.length for r in self.keeps if r.delta)

    @property
    def reused(self) -> int:
        return sum(r.length for r in self.keeps)

    @property
    def prefix(self) -> int:
        """Tokens kept where they were, from position 0 up to the first change."""
        first = self.runs[0] if self.runs else None
        return first.length if isinstance(first, Keep) and first.old == 0 and first.new == 0 else 0

    def drops(self) -> list[tuple[int, int]]:
        """Old position ranges no run keeps, in order."""
        gaps, cursor = [], 0
        for keep in self.keeps:
            if keep.old > cursor:
                gaps.append((cursor, keep.old))
            cursor = keep.old + keep.length
        if cursor < self.old_length:
            gaps.append((cursor, self.old_length))
        return gaps


def plan_sync(cached: Sequence[int], segments: Sequence[Sequence[int]]) -> SyncPlan:
    """Reuse as much of ``cached`` as possible, in order, for the concatenated ``segments``."""
    target = tuple(t for seg in segments for t in seg)
    old = array("i", cached)
    prefix = _common_prefix(old, 0, target, 0)
    runs: list[Run] = [Keep(0, 0, prefix)] if prefix else []
    cursor, start = prefix, 0
    for seg in segments:
        end = start + len(seg)
        if end > prefix:
            cursor = _place(runs, old, cursor, target, max(start, prefix), end, partial=start < prefix)
        start = end
    return SyncPlan(_merged(runs), target, len(old))


def _place(runs: list[Run], old: array, cursor: int, target: tuple[int, ...], lo: int, hi: int,
           partial: bool) -> int:
    """Add the runs for target[lo:hi]; return the new old-cache cursor."""
    if partial:
        runs.append(Evaluate(lo, hi - lo))
        return cursor
    found = _find(old, array("i", target[lo:hi]), cursor)
    if found >= 0:
        runs.append(Keep(found, lo, hi - lo))
        return found + hi - lo
    same = _common_prefix(old, cursor, target[:hi], lo)
    if same >= MIN_PARTIAL_MATCH:
        runs.append(Keep(cursor, lo, same))
        cursor += same
        lo += same
    if lo < hi:
        runs.append(Evaluate(lo, hi - lo))
    return cursor


def _find(old: array, needle: array, cursor: int) -> int:
    """First position >= cursor where ``needle`` occurs in ``old`` (token-aligned), or -1."""
    haystack, pattern, width = old.tobytes(), needle.tobytes(), old.itemsize
    at = haystack.find(pattern, cursor * width)
    while at >= 0 and at % width:
        at = haystack.find(pattern, at + 1)
    return at // width if at >= 0 else -1


def _common_prefix(old: Sequence[int], i: int, new: Sequence[int], j: int) -> int:
    n = 0
    limit = min(len(old) - i, len(new) - j)
    while n < limit and old[i + n] == new[j + n]:
        n += 1
    return n


def _merged(runs: list[Run]) -> tuple[Run, ...]:
    """Join neighbouring runs of the same kind (contiguous keeps with one delta, evaluates)."""
    out: list[Run] = []
    for run in runs:
        last = out[-1] if out else None
        if isinstance(run, Evaluate) and isinstance(last, Evaluate):
            out[-1] = Evaluate(last.new, last.length + run.length)
        elif isinstance(run, Keep) and isinstance(last, Keep) and last.old + last.length == run.old \
                and last.delta == run.delta:
            out[-1] = Keep(last.old, last.new, last.length + run.length)
        else:
            out.append(run)
    return tuple(out)


def reevaluate_after_changes(plan: SyncPlan, window: int | None) -> SyncPlan:
    """Re-evaluate up to ``window`` kept tokens after each change (None: all of them).

    Kept cells after a change were computed while attending to the old content; a window
    refreshes the nearest ones, where the old content weighed most. ``window=0`` is the plan.
    """
    runs: list[Run] = []
    budget, old_end = 0, 0
    for run in plan.runs:
        if isinstance(run, Evaluate):
            runs.append(run)
            budget = _refill(window)
            continue
        if run.old != old_end or (runs and run.delta != _last_delta(runs)):
            budget = _refill(window)
        redo = min(budget, run.length)
        if redo:
            runs.append(Evaluate(run.new, redo))
            budget -= redo
        if redo < run.length:
            runs.append(Keep(run.old + redo, run.new + redo, run.length - redo))
        old_end = run.old + run.length
    return SyncPlan(_merged(runs), plan.target, plan.old_length)


def truncated_to(plan: SyncPlan, keep: int) -> SyncPlan:
    """Keep ``keep`` leading tokens (at most ``plan.prefix``), evaluate the rest: no shifts needed."""
    runs: list[Run] = [Keep(0, 0, keep)] if keep else []
    if keep < len(plan.target):
        runs.append(Evaluate(keep, len(plan.target) - keep))
    return SyncPlan(tuple(runs), plan.target, plan.old_length)


def _refill(window: int | None) -> int:
    return 1 << 62 if window is None else window


def _last_delta(runs: list[Run]) -> int | None:
    for run in reversed(runs):
        if isinstance(run, Keep):
            return run.delta
    return None
