"""JSON schemas for memory functions, derived from their Python signatures and docstrings.

Each memory function is one Python function: its signature gives the argument types, its
docstring (written for the model) gives the descriptions. The same schema drives the grammar
the model generates under and the validation of what it produced.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Callable, get_type_hints

_JSON_TYPES = {str: "string", int: "integer", bool: "boolean", float: "number"}
DEFAULT_MAX_STRING = 2000


@dataclass(frozen=True)
class FunctionSpec:
    """A callable memory function with its schema."""

    name: str
    description: str
    parameters: dict  # JSON schema of the "arguments" object
    fn: Callable

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.parameters.get("required", ()))


def spec_for(fn: Callable, skip: tuple[str, ...] = ("self", "ctx"),
             max_lengths: dict[str, int] | None = None) -> FunctionSpec:
    """Build the spec of ``fn``; ``max_lengths`` bounds string arguments (the grammar honours it)."""
    hints = get_type_hints(fn)
    docs = _arg_docs(inspect.getdoc(fn) or "")
    properties, required = {}, []
    for name, param in inspect.signature(fn).parameters.items():
        if name in skip:
            continue
        kind = _JSON_TYPES.get(hints.get(name, str), "string")
        prop: dict = {"type": kind}
        if kind == "string":
            prop["maxLength"] = (max_lengths or {}).get(name, DEFAULT_MAX_STRING)
        if name in docs:
            prop["description"] = docs[name]
        properties[name] = prop
        if param.default is inspect.Parameter.empty:
            required.append(name)
    parameters = {"type": "object", "properties": properties, "required": required,
                  "additionalProperties": False}
    return FunctionSpec(fn.__name__, _summary(inspect.getdoc(fn) or ""), parameters, fn)


def calls_schema(options: list[FunctionSpec | dict]) -> dict:
    """The schema of one call to any of ``options`` (specs, or call options already built)."""
    built = [call_option(o) if isinstance(o, FunctionSpec) else o for o in options]
    return built[0] if len(built) == 1 else {"anyOf": built}


THOUGHT = "thought"
THOUGHT_CHARS = 160
REPLY = "reply"


def call_option(spec: FunctionSpec, narrowed: dict[str, dict] | None = None,
                reply_chars: int | None = None) -> dict:
    """One call's schema, ``{"thought": ..., "function": name, "arguments": {...}}``.

    The short thought comes first (MemGPT's inner monologue): a small model that first says
    where the answer is ("my facts block says ...") picks the right call and copies the right
    words. ``narrowed`` replaces some arguments' schemas (a label that must name an existing
    block, a line that must exist). With ``reply_chars`` the call ends with the reply to the
    user (``"reply": ...``): a memory edit and its answer in one step, with no second round
    trip through the window for the reply alone.
    """
    arguments = _grammar_arguments(spec)
    if narrowed:
        arguments["properties"] = {**arguments["properties"], **narrowed}
    properties = {THOUGHT: {"type": "string", "maxLength": THOUGHT_CHARS},
                  "function": {"const": spec.name}, "arguments": arguments}
    if reply_chars:
        properties[REPLY] = {"type": "string", "maxLength": reply_chars}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def literal_safe(text: str) -> bool:
    """Whether ``text`` can be a fixed value (``enum``, ``const``) of a grammar's schema.

    llama-cpp-python writes such a value into the grammar without escaping JSON's own escapes
    for the grammar's quoting: a quote in a core line ends the literal early and llama.cpp
    rejects the grammar (the turn would fail); a backslash or a control character admits JSON
    that does not parse. Text with none of them is written as it is.
    """
    return not any(c in '"\\' or ord(c) < 32 or ord(c) == 127 for c in text)


def _grammar_arguments(spec: FunctionSpec) -> dict:
    """Arguments for the grammar: every argument required, so the model cannot stop early."""
    params = dict(spec.parameters)
    params["required"] = list(params["properties"])
    return {k: v for k, v in params.items() if k != "description"}


def describe(specs: list[FunctionSpec]) -> str:
    """Function reference for the system prompt: one short paragraph per function."""
    lines = []
    for spec in specs:
        args = ", ".join(f"{n}: {p['type']}" for n, p in spec.parameters["properties"].items())
        lines.append(f"- {spec.name}({args}): {spec.description}")
    return "\n".join(lines)


def _summary(doc: str) -> str:
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip()


def _arg_docs(doc: str) -> dict[str, str]:
    """Argument descriptions from a Google-style ``Args:`` section."""
    match = re.search(r"^Args:\s*\n(.*?)(?:\n\S|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    found = {}
    for line in match.group(1).splitlines():
        arg = re.match(r"\s+(\w+):\s*(.+)", line)
        if arg:
            found[arg.group(1)] = arg.group(2).strip()
    return found
