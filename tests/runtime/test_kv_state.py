"""Saved KV states: a restart resumes without a re-prefill; a bad file is never trusted."""

from __future__ import annotations

import logging

import pytest

from engine.runtime.kv_pager import KVPager
from engine.runtime.segment import Segment
from tests.runtime.test_kv_pager import TEXTS, assert_same_distribution, conversation, fresh_logits, joined, segment


@pytest.fixture
def pager(runtime, tmp_path):
    pager = KVPager(runtime, mode="fast", state_dir=tmp_path)
    pager.cache.clear()
    pager._record(())
    yield pager
    pager.cache.clear()
    pager._record(())
    pager.close()


def restart(runtime, tmp_path) -> KVPager:
    """A new pager over a cache that holds something else, as after a restart."""
    runtime.llama.reset()
    runtime.generate_text(runtime.tokenize("An unrelated prompt about ships."), max_tokens=2)
    return KVPager(runtime, mode="fast", state_dir=tmp_path)


def test_save_then_restore_gives_the_same_next_token_logits_evaluating_only_the_last_token(runtime, pager, tmp_path):
    segments = conversation(runtime)
    path = pager.save(segments)
    before = pager.next_logits()
    resumed = restart(runtime, tmp_path)
    assert resumed.restore(segments) == len(joined(segments))
    assert resumed.tokens == joined(segments)
    assert resumed.sync(segments).evaluated == 1  # the last token again: a saved state holds no logits
    assert_same_distribution(resumed.next_logits(), before)
    assert path.exists()
    resumed.close()


def test_a_window_that_changed_since_the_save_reuses_the_state_up_to_the_change(runtime, pager, tmp_path):
    segments = conversation(runtime)
    pager.save(segments)
    other = segments[:-1] + [segment(runtime, "msg5", "user", TEXTS[9])]
    resumed = restart(runtime, tmp_path)
    shared = resumed.restore(other)
    assert len(joined(segments[:-1])) <= shared < len(joined(other))
    assert resumed.sync(other).evaluated == len(joined(other)) - shared
    assert_same_distribution(resumed.next_logits(), fresh_logits(runtime, joined(other)))
    resumed.close()


def test_a_restored_window_longer_than_the_sliding_window_is_edited_at_its_head_in_place(runtime, pager, tmp_path):
    """The whole context is saved, with every sliding-window cell: after a restart an edit near the
    head of a long window (a page-in that changed) evaluates that segment, not the window again,
    and the model sees what it would have seen had the process never stopped."""
    long_messages = [segment(runtime, f"msg{i}", ("user", "assistant")[i % 2], " ".join(TEXTS[i % 10:] + TEXTS[:i % 10]))
                     for i in range(14)]
    segments = conversation(runtime, 0) + long_messages
    assert pager.cache.n_swa and len(joined(segments)) > 2 * pager.cache.n_swa
    pager.save(segments)
    edited = list(segments)
    edited[3] = segment(runtime, "summary", "system", TEXTS[4] + " Bob also asked about clover.")
    pager.sync(edited)
    without_restart = pager.next_logits()
    resumed = restart(runtime, tmp_path)
    assert resumed.restore(edited) >= len(joined(segments)) - len(segments[3].tokens)
    stats = resumed.sync(edited)
    assert not stats.fallback
    assert stats.evaluated <= len(edited[3].tokens) + 1
    assert resumed.tokens == joined(edited)
    assert_same_distribution(resumed.next_logits(), without_restart)  # as if the process had never stopped
    resumed.close()


def test_a_saved_state_of_another_conversation_is_not_loaded(runtime, pager, tmp_path, caplog):
    pager.save(conversation(runtime))
    stranger = [Segment("text", tuple(runtime.tokenize(" ".join(reversed(TEXTS)))))]
    resumed = restart(runtime, tmp_path)
    with caplog.at_level(logging.INFO):
        assert resumed.restore(stranger) == 0
    assert "no saved KV state" in caplog.text
    assert resumed.sync(stranger).evaluated == len(joined(stranger))
    resumed.close()


def test_a_corrupt_state_file_is_ignored_with_a_warning(runtime, pager, tmp_path, caplog):
    segments = conversation(runtime)
    path = pager.save(segments)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    resumed = restart(runtime, tmp_path)
    with caplog.at_level(logging.WARNING):
        assert not resumed.restore(segments)
    assert "ignoring saved KV state" in caplog.text
    assert resumed.sync(segments).evaluated == len(joined(segments))
    resumed.close()


def test_a_truncated_state_file_is_ignored(runtime, pager, tmp_path, caplog):
    segments = conversation(runtime)
    path = pager.save(segments)
    path.write_bytes(path.read_bytes()[:1000])
    resumed = restart(runtime, tmp_path)
    with caplog.at_level(logging.WARNING):
        assert not resumed.restore(segments)
    assert "truncated or altered" in caplog.text
    resumed.close()


def test_saving_keeps_only_the_newest_states_of_a_model(runtime, pager, tmp_path):
    segments = conversation(runtime)
    for i in range(4):
        pager.save(segments + [Segment(f"extra{i}", tuple(runtime.tokenize(TEXTS[i])))])
    assert len(list(tmp_path.glob("*.kvstate"))) == 2


def test_a_window_that_outgrew_the_context_still_saves_what_the_cache_holds(runtime, pager, tmp_path):
    """After a long reply the window may not fit until the next turn evicts; a restart then
    still reuses the cache as it stood."""
    segments = conversation(runtime)
    pager.sync(segments)
    too_long = segments + [Segment("paste", tuple(runtime.tokenize(" ".join(TEXTS) * 30)))]
    assert len(joined(too_long)) >= runtime.llama.n_ctx()
    pager.save(too_long)
    resumed = restart(runtime, tmp_path)
    assert resumed.restore(segments) >= len(joined(segments)) - 1
    resumed.close()
