"""A turn's steps pair each call with its own result, matched by step number."""

from engine.api import FunctionCallEvent, FunctionResultEvent, TurnSteps


def _garbled(step: int) -> FunctionResultEvent:
    return FunctionResultEvent("error", False, '{"error": "the output was not a function call"}', step)


def test_a_garbled_step_after_a_search_is_its_own_record_and_leaves_the_search_result_alone():
    steps = TurnSteps()
    steps.take(FunctionCallEvent("conversation_search", {"query": "dog"}, 1))
    steps.take(FunctionResultEvent("conversation_search", True, '{"results": ["Rex"]}', 1))
    finished = steps.take(_garbled(2))
    steps.take(FunctionCallEvent("send_message", {"message": "Your dog is Rex."}, 3))

    search, garbled, reply = steps.records
    assert search["result"] == {"results": ["Rex"]} and search["ok"] is True
    assert garbled == finished == {"step": 2, "function": None, "arguments": None, "ok": False,
                                   "result": {"error": "the output was not a function call"}}
    assert reply["function"] == "send_message" and "result" not in reply


def test_without_replies_only_memory_steps_and_failed_steps_are_listed():
    steps = TurnSteps(with_replies=False)
    steps.take(_garbled(1))
    steps.take(FunctionCallEvent("send_message", {"message": "Hello."}, 2))
    assert [s["function"] for s in steps.records] == [None]


def test_a_result_that_is_not_json_is_kept_as_text():
    steps = TurnSteps()
    steps.take(FunctionCallEvent("archival_memory_search", {"query": "x"}, 1))
    assert steps.take(FunctionResultEvent("archival_memory_search", True, "no results", 1))["result"] == "no results"
