"""The paging plan, on plain token lists: what is kept, moved, dropped and evaluated."""

from engine.runtime.kv_plan import Evaluate, Keep, plan_sync, reevaluate_after_changes, truncated_to

SYSTEM, PERSONA, HUMAN, SUMMARY = [1] * 10, [2] * 10, list(range(100, 110)), [3] * 10
MSGS = [list(range(200 + 20 * i, 212 + 20 * i)) for i in range(6)]


def concat(*parts):
    return [t for part in parts for t in part]


def test_appending_a_message_keeps_everything_and_evaluates_only_the_message():
    old = concat(SYSTEM, PERSONA, *MSGS[:3])
    plan = plan_sync(old, [SYSTEM, PERSONA, *MSGS[:4]])
    assert plan.runs == (Keep(0, 0, len(old)), Evaluate(len(old), len(MSGS[3])))
    assert plan.drops() == []


def test_eviction_drops_the_oldest_messages_and_shifts_the_rest_down():
    old = concat(SYSTEM, SUMMARY, *MSGS)
    new_summary = [4] * 14
    plan = plan_sync(old, [SYSTEM, new_summary, *MSGS[3:]])
    assert plan.evaluates == (Evaluate(10, 14),)
    assert plan.drops() == [(10, 20 + 3 * 12)]
    (moved,) = [k for k in plan.keeps if k.delta]
    assert (moved.old, moved.new, moved.length) == (20 + 3 * 12, 24, 3 * 12)


def test_an_edited_core_block_is_evaluated_and_everything_after_it_is_kept_in_place():
    old = concat(SYSTEM, PERSONA, HUMAN, SUMMARY, *MSGS)
    edited = HUMAN[:6] + [9, 9, 9, 9]
    plan = plan_sync(old, [SYSTEM, PERSONA, edited, SUMMARY, *MSGS])
    assert plan.evaluates == (Evaluate(26, 4),)
    assert plan.keeps[-1] == Keep(30, 30, len(old) - 30)


def test_a_reply_left_in_the_cache_is_reused_as_the_start_of_the_assistant_message():
    prompt = concat(SYSTEM, MSGS[0])
    reply = [7, 8, 9] * 5
    cached = prompt + [50, 51] + reply  # generation prompt, then the generated tokens
    assistant = [50, 51] + reply + [60, 61]  # the same turn with its end markup
    plan = plan_sync(cached, [SYSTEM, MSGS[0], assistant, MSGS[1]])
    assert plan.reused == len(cached)
    assert plan.evaluated == 2 + len(MSGS[1])


def test_a_reply_is_found_again_even_when_an_eviction_happens_in_the_same_sync():
    cached = concat(SYSTEM, SUMMARY, *MSGS[:4]) + [50, 51] + [7, 8, 9] * 5
    assistant = [50, 51] + [7, 8, 9] * 5 + [60, 61]
    plan = plan_sync(cached, [SYSTEM, [4] * 12, *MSGS[2:4], assistant])
    assert plan.evaluated == 12 + 2


def test_shared_turn_markup_alone_is_not_reused():
    cached = concat(SYSTEM, [5, 5, 5, 40, 41, 42])
    plan = plan_sync(cached, [SYSTEM, [5, 5, 5, 30, 31, 32]])
    assert plan.keeps == (Keep(0, 0, 13),)


def test_window_mode_re_evaluates_the_first_tokens_after_each_change():
    old = concat(SYSTEM, SUMMARY, *MSGS)
    plan = reevaluate_after_changes(plan_sync(old, [SYSTEM, [4] * 10, *MSGS[2:]]), window=5)
    assert plan.evaluates == (Evaluate(10, 15),)
    assert plan.keeps[-1].new == 25


def test_exact_mode_evaluates_everything_after_the_first_change_like_a_prefix_cache():
    old = concat(SYSTEM, PERSONA, HUMAN, *MSGS)
    plan = reevaluate_after_changes(plan_sync(old, [SYSTEM, [6] * 10, HUMAN, *MSGS]), window=None)
    assert plan.runs == (Keep(0, 0, 10), Evaluate(10, len(old) - 10))


def test_truncation_keeps_only_the_prefix():
    old = concat(SYSTEM, SUMMARY, *MSGS)
    plan = plan_sync(old, [SYSTEM, [4] * 10, *MSGS[1:]])
    assert truncated_to(plan, plan.prefix).runs == (Keep(0, 0, 10), Evaluate(10, len(plan.target) - 10))
