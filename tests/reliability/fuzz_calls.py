"""Property-based fuzzing of the function-call path: parser, then dispatcher, on a real store.

Shared by ``test_hostile_calls.py`` (a few hundred cases in CI) and the report command (more).
Every case must end as a :class:`FunctionCall` whose dispatch returns a :class:`FunctionResult`,
or as a :class:`CallError` the loop hands back to the model; nothing may raise.
"""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.agent.call_parser import CallError, FunctionCall, parse_call
from engine.agent.functions import FunctionContext, FunctionResult, dispatch, function_specs

SPECS = function_specs()
NAMES = sorted(SPECS)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30)


def _plausible_value(prop: dict):
    kind = prop["type"]
    if kind == "string":
        return st.text(max_size=prop.get("maxLength", 100) + 20) | st.sampled_from(["human", "persona", "2024-05-31", ""])
    if kind == "integer":
        return st.integers(min_value=-10**6, max_value=10**6)
    return st.booleans()


@st.composite
def plausible_calls(draw):
    """Calls the grammar could almost produce: right names, right-ish arguments, some wrong."""
    name = draw(st.sampled_from(NAMES + ["format_disk", "send_message ", ""]))
    props = SPECS[name].parameters["properties"] if name in SPECS else {"x": {"type": "string"}}
    arguments = {key: draw(_plausible_value(prop) | json_values) for key, prop in props.items()
                 if draw(st.booleans()) or key in (SPECS[name].required if name in SPECS else ())}
    return json.dumps({"function": name, "arguments": arguments}, ensure_ascii=draw(st.booleans()))


def hostile_texts():
    truncated = st.tuples(plausible_calls(), st.integers(min_value=0, max_value=200)).map(lambda t: t[0][:t[1]])
    nested = st.integers(min_value=1, max_value=50_000).map(lambda n: '{"function": ' + "[" * n + "]" * n + "}")
    oversized = st.integers(min_value=1, max_value=300_000).map(
        lambda n: json.dumps({"function": "archival_memory_insert", "arguments": {"content": "z" * n}}))
    return st.one_of(plausible_calls(), truncated, nested, oversized, st.text(max_size=300),
                     json_values.map(json.dumps))


def run_fuzz(store, agent_id: int, examples: int) -> Counter:
    """Fuzz ``examples`` cases against ``store``; count outcomes ("call_ok", "call_error", "parse_error")."""
    counts: Counter = Counter()
    ctx = FunctionContext(store, agent_id)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(hostile_texts())
    def case(text: str) -> None:
        call = parse_call(text, SPECS)
        if isinstance(call, CallError):
            assert call.message and len(call.raw) <= 200
            counts["parse_error"] += 1
            return
        assert isinstance(call, FunctionCall)
        result = dispatch(call, SPECS, ctx)
        assert isinstance(result, FunctionResult) and isinstance(result.text, str)
        json.loads(result.text)
        counts["call_ok" if result.ok else "call_error"] += 1

    case()
    return counts
