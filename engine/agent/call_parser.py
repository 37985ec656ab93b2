"""Turn model output into a validated function call, or an error the model can read.

Grammar-constrained decoding makes well-formed calls the rule, but a truncated reply, a
different model or a bug still produces garbage; none of it may crash a turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine.agent.function_schema import REPLY, FunctionSpec

MAX_CALL_CHARS = 200_000
IGNORED_ARGUMENT = "request_heartbeat"  # MemGPT's chaining flag; the engine decides when a turn goes on


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: dict
    reply: str | None = None
    """The answer to the user a memory edit carries, given once the edit has landed."""


@dataclass(frozen=True)
class CallError:
    """Why the output is not a valid call; ``message`` goes back to the model."""

    message: str
    raw: str


def decode_call(text: str) -> dict | None:
    """The call object ``{"function": NAME, ...}`` that ``text`` holds, or None.

    The one place call JSON is decoded. Strings are read leniently (``strict=False``): a
    byte-fallback token can slip a raw control character past llama.cpp's grammar.
    """
    try:
        value = json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and isinstance(value.get("function"), str) else None


def parse_call(text: str, specs: dict[str, FunctionSpec]) -> FunctionCall | CallError:
    """Parse and validate one call against ``specs`` (name -> spec)."""
    if len(text) > MAX_CALL_CHARS:
        return CallError(f"the call is too long ({len(text)} characters)", text[:200])
    value = decode_call(text)
    if value is None:
        return CallError(_not_a_call(text), text[:200])
    name = value["function"]
    if name not in specs:
        return CallError(f"unknown function {name[:80]!r}; known: {', '.join(specs)}", text[:200])
    arguments = value.get("arguments", {})
    if not isinstance(arguments, dict):
        return CallError(f"{name}: arguments must be an object", text[:200])
    arguments = {k: v for k, v in arguments.items() if k != IGNORED_ARGUMENT}
    problem = validate_arguments(arguments, specs[name])
    reply = value.get(REPLY)
    if reply is not None and not isinstance(reply, str):
        problem = problem or f"{name}: the reply must be a string"
    return CallError(problem, text[:200]) if problem else FunctionCall(name, arguments, reply or None)


def validate_arguments(arguments: dict, spec: FunctionSpec) -> str:
    """An empty string when ``arguments`` fit the spec, else what is wrong."""
    properties = spec.parameters["properties"]
    unknown = [key for key in arguments if key not in properties]
    if unknown:
        return f"{spec.name}: unknown argument {str(unknown[0])[:60]!r}"
    missing = [key for key in spec.required if key not in arguments]
    if missing:
        return f"{spec.name}: missing argument {missing[0]!r}"
    for key, value in arguments.items():
        problem = _type_problem(value, properties[key])
        if problem:
            return f"{spec.name}: argument {key!r} {problem}"
    return ""


def _type_problem(value, prop: dict) -> str:
    kind = prop["type"]
    if kind == "string":
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > prop.get("maxLength", len(value)):
            return f"is longer than {prop['maxLength']} characters"
    elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return "must be an integer"
    elif kind == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    elif kind == "number" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        return "must be a number"
    return ""


def _not_a_call(text: str) -> str:
    try:
        json.loads(text, strict=False)
    except (ValueError, RecursionError) as exc:
        return f"the output is not valid JSON ({_short(exc)})"
    return 'expected an object {"function": NAME, "arguments": {...}}'


def _short(exc: Exception) -> str:
    return str(exc)[:120]
