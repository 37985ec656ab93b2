"""Recursive summaries stay bounded, and bad model output is replaced by an extractive one."""

from hypothesis import given
from hypothesis import strategies as st

from engine.context.summary import EvictedLine, extractive_summary, is_usable_summary, summary_prompt


def test_model_output_that_is_empty_repetitive_or_markup_is_rejected():
    assert not is_usable_summary("", 400)
    assert not is_usable_summary("ok ok ok ok ok ok ok ok ok ok ok ok", 400)
    assert not is_usable_summary("<start_of_turn>user\nhello there my friend", 400)
    assert not is_usable_summary("x" * 500, 400)
    assert is_usable_summary("Ana likes hiking; her sister Lena lives in Porto and visits in May.", 400)


def test_extractive_summary_keeps_old_summary_and_first_sentences():
    evicted = [EvictedLine("Ana", "I adopted a cat called Miso. She is grey."),
               EvictedLine("assistant", "What a lovely name!")]
    summary = extractive_summary("Ana lives in Lisbon.", evicted, 300)
    assert summary.startswith("Ana lives in Lisbon.")
    assert "Miso" in summary and "She is grey" not in summary


@given(st.text(max_size=2000), st.lists(st.tuples(st.text(max_size=20), st.text(max_size=800)), max_size=30),
       st.integers(40, 2000))
def test_extractive_summary_never_exceeds_its_bound(old, lines, max_chars):
    evicted = [EvictedLine(speaker, text) for speaker, text in lines]
    assert len(extractive_summary(old, evicted, max_chars)) <= max_chars


def test_prompt_names_the_bound_and_the_new_messages():
    prompt = summary_prompt("", [EvictedLine("Ana", "Lena lives in Porto.")], 250)
    assert "250 characters" in prompt and "Ana: Lena lives in Porto." in prompt
