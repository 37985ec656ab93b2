"""Which functions the model may call at each step of a turn, and the grammar that admits them.

A small model chains badly when it decides alone whether to go on: it searches the same words
again and again, or stops after saving a fact without a word to the user. The engine decides
instead, from how a turn goes: a memory edit carries its reply (``"reply"``), so a turn that
saves a fact is one step; an edit that came without one is followed by the reply; after a
search that ran, the model may reply or edit but not search again (one look a turn: a second
search of a small model only rewords the first); every turn ends with a reply within
``max_steps``. The grammar also lists the lines a core block holds, so a replacement names a
line that exists and the block it is in (lines that cannot be written into a grammar as they
are, see :func:`literal_safe`, are left out: such a line is still updated by an appended fact).
"""

from __future__ import annotations

from engine.agent.core_edits import lines_of
from engine.agent.function_schema import FunctionSpec, calls_schema, call_option, literal_safe
from engine.lru import LruCache
from engine.memory.types import CoreBlock

SEND_MESSAGE = "send_message"
SEARCHES = frozenset({"conversation_search", "conversation_search_date", "archival_memory_search"})
EDITS = frozenset({"core_memory_append", "core_memory_replace", "archival_memory_insert"})


def allowed_functions(names: tuple[str, ...], done: list[tuple[str, bool]], step: int,
                      max_steps: int) -> tuple[str, ...]:
    """The functions the next step may call, given the calls (name, ok) made so far this turn."""
    if step >= max_steps or (done and done[-1][0] in EDITS and done[-1][1]):
        return (SEND_MESSAGE,)
    searched = any(name in SEARCHES for name, ok in done if ok)
    return tuple(n for n in names if not (searched and n in SEARCHES))


class StepGrammars:
    """Grammars for a step's allowed functions over the current core blocks, cached by both."""

    def __init__(self, runtime, specs: dict[str, FunctionSpec], size: int = 16) -> None:
        self.runtime, self.specs = runtime, specs
        self.reply_chars = specs[SEND_MESSAGE].parameters["properties"]["message"]["maxLength"]
        self._cache: LruCache[tuple, object] = LruCache(size)

    def grammar(self, allowed: tuple[str, ...], blocks: list[CoreBlock]):
        key = (allowed, tuple((b.label, b.value) for b in blocks) if _edits(allowed) else ())
        return self._cache.get_or_make(key, lambda: self.runtime.grammar_for_schema(self.schema(allowed, blocks)))

    def schema(self, allowed: tuple[str, ...], blocks: list[CoreBlock]) -> dict:
        options = []
        for name in allowed:
            spec, reply = self.specs[name], self.reply_chars if name in EDITS else None
            if name == "core_memory_replace":
                options += [call_option(spec, {"label": {"const": b.label}, "old_content": {"enum": lines}}, reply)
                            for b in blocks if literal_safe(b.label)
                            and (lines := [line for line in lines_of(b.value) if literal_safe(line)])]
            elif name == "core_memory_append":
                labels = [b.label for b in blocks if literal_safe(b.label)]
                options.append(call_option(spec, {"label": {"enum": labels}} if labels else None, reply))
            else:
                options.append(call_option(spec, reply_chars=reply))
        return calls_schema(options)


def _edits(allowed: tuple[str, ...]) -> bool:
    return any(name.startswith("core_memory") for name in allowed)
