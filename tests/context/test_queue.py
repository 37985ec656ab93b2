"""Queue pressure and eviction choice."""

from hypothesis import given
from hypothesis import strategies as st

from engine.context.queue import Pressure, QueuedMessage, eviction_count, pressure


def test_pressure_levels_follow_the_window():
    assert pressure(500, 1000) is Pressure.OK
    assert pressure(700, 1000) is Pressure.WARN
    assert pressure(1000, 1000) is Pressure.FULL


def test_eviction_drops_oldest_down_to_half():
    queue = [QueuedMessage(i, "user" if i % 2 else "assistant", 100) for i in range(10)]
    count = eviction_count(queue, fixed_tokens=200, budget=1200)
    remaining = 200 + sum(m.n_tokens for m in queue[count:])
    assert remaining <= 600 and count < len(queue)


messages = st.lists(st.tuples(st.sampled_from(["user", "assistant", "function"]), st.integers(1, 300)),
                    min_size=1, max_size=40)


@given(messages, st.integers(0, 500), st.integers(200, 4000))
def test_eviction_never_separates_call_from_result_and_keeps_the_newest(items, fixed, budget):
    queue = [QueuedMessage(i, role, n) for i, (role, n) in enumerate(items)]
    count = eviction_count(queue, fixed, budget)
    assert 0 <= count < len(queue)
    assert queue[count].role != "function" or count == 0
