"""The KV pager on the real embedded model: the cache always equals the segments, cheaply."""

from __future__ import annotations

import logging
import random

import llama_cpp
import numpy as np
import pytest

from engine.runtime.kv_cells import SequenceCells
from engine.runtime import kv_pager
from engine.runtime.kv_ops import PARK, PIN, KVError, SequenceCache
from engine.runtime.kv_pager import KVPager
from engine.runtime.kv_plan import Keep, plan_sync
from engine.runtime.model import GREEDY, ModelRuntime
from engine.runtime.segment import Segment
from engine.runtime.settings import RuntimeSettings
from engine.runtime.weight_layout import model_params_with_repack

TEXTS = [
    "The human's name is Bob and he lives by the sea.", "Bob keeps bees and sells honey at the market.",
    "Remember to ask about the new hive.", "It rained all week, so the bees stayed home.",
    "Summary: Bob talked about bees, rain and honey prices.", "The assistant is patient and curious.",
    "What should I plant for the bees in spring?", "Lavender, clover and borage are good choices.",
    "My sister visits on Sunday.", "Tell me a short story about a lighthouse.",
]


@pytest.fixture
def pager(runtime):
    pager = KVPager(runtime, mode="fast")
    pager.cache.clear()
    yield pager
    pager.cache.clear()
    pager._record(())
    pager.close()


def segment(runtime, key: str, role: str, text: str) -> Segment:
    return Segment(key, tuple(runtime.tokenize(runtime.chat_format.render(role, text))))


def conversation(runtime, n_messages: int = 6) -> list[Segment]:
    head = [Segment("bos", tuple(runtime.bos_tokens)), segment(runtime, "system", "system", TEXTS[5]),
            segment(runtime, "core:human", "system", TEXTS[0]), segment(runtime, "summary", "system", TEXTS[4])]
    roles = ("user", "assistant")
    return head + [segment(runtime, f"msg{i}", roles[i % 2], TEXTS[(i + 1) % len(TEXTS)]) for i in range(n_messages)]


def joined(segments) -> tuple[int, ...]:
    return tuple(t for s in segments for t in s.tokens)


def fresh_logits(runtime, tokens) -> np.ndarray:
    """Next-token logits of ``tokens`` evaluated from an empty cache."""
    cache = SequenceCache(runtime.llama)
    try:
        cache.clear()
        cache.evaluate_at(list(tokens), 0)
        return cache.last_logits()
    finally:
        cache.clear()
        runtime.llama.n_tokens = 0
        cache.close()


def probabilities(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def assert_same_distribution(a: np.ndarray, b: np.ndarray) -> None:
    """Equal up to float noise (batch shape and cell order change the sums): same top token,
    every probability within 0.05."""
    assert a.argmax() == b.argmax()
    assert np.abs(probabilities(a) - probabilities(b)).max() < 0.05


def layer0_values(pager: KVPager) -> tuple[np.ndarray, np.ndarray]:
    """Positions and first-layer V rows of the real cache (they depend on the token alone)."""
    cells = SequenceCells.parse(pager.cache.save()).caches[-1]  # Gemma 3's layer 0 is a sliding-window layer
    data = cells.v[0].data  # (n_embd, cells, bytes) when transposed
    rows = data.transpose(1, 0, 2) if cells.v_trans else data
    return cells.pos, np.ascontiguousarray(rows).reshape(len(cells.pos), -1).view(np.float16).astype(np.float32)


def assert_cache_holds(pager: KVPager, tokens, reference: dict[int, np.ndarray]) -> None:
    assert pager.tokens == tuple(tokens)
    assert pager.cache.pos_min() == 0 and pager.cache.pos_max() == len(tokens) - 1
    pos, rows = layer0_values(pager)
    assert sorted(pos.tolist()) == list(range(len(tokens)))
    for p, row in zip(pos.tolist(), rows):
        assert np.allclose(row, reference[tokens[p]], atol=2e-2), f"position {p} holds another token"


def value_reference(runtime, pager: KVPager, tokens) -> dict[int, np.ndarray]:
    pager.cache.clear()
    pager.cache.evaluate_at(list(tokens), 0)
    pos, rows = layer0_values(pager)
    pager.cache.clear()
    return {tokens[p]: row for p, row in zip(pos.tolist(), rows)}


def random_step(rng: random.Random, runtime, segments: list[Segment], step: int) -> list[Segment]:
    segments = list(segments)
    action = rng.choice(["evict", "insert", "edit", "append", "append"])
    body = range(4, len(segments))
    if action == "evict" and len(segments) > 6:
        del segments[4:4 + rng.randint(1, 3)]
        segments[3] = segment(runtime, "summary", "system", rng.choice(TEXTS) + f" ({step})")
    elif action == "insert":
        segments.insert(rng.randint(1, len(segments)), segment(runtime, f"new{step}", "user", rng.choice(TEXTS)))
    elif action == "edit" and len(body):
        at = rng.choice([2, 3, *body])
        segments[at] = segment(runtime, segments[at].key, "system", rng.choice(TEXTS) + f" #{step}")
    else:
        segments.append(segment(runtime, f"msg{step}", rng.choice(["user", "assistant"]), rng.choice(TEXTS)))
    return segments


@pytest.mark.parametrize("mode", ["fast", "window"])
def test_after_random_removals_inserts_and_edits_the_cache_holds_exactly_the_segments(runtime, pager, mode):
    pager.mode, pager.window = mode, 6
    rng = random.Random(7)
    segments = conversation(runtime)
    vocabulary = sorted({t for text in TEXTS for role in ("user", "assistant", "system")
                         for t in runtime.tokenize(runtime.chat_format.render(role, text + " (1) #2"))})
    reference = value_reference(runtime, pager, [*runtime.bos_tokens, *vocabulary] +
                                runtime.tokenize("0123456789 ()#"))
    pager.sync(segments)
    for step in range(30):
        segments = random_step(rng, runtime, segments, step)
        stats = pager.sync(segments)
        assert stats.total == len(joined(segments))
        assert_cache_holds(pager, joined(segments), reference)


def test_exact_mode_gives_the_logits_of_a_fresh_evaluation(runtime, pager):
    pager.mode = "exact"
    segments = conversation(runtime, 8)
    pager.sync(segments)
    changed = segments[:2] + [segment(runtime, "core:human", "system", TEXTS[1])] + \
        [segment(runtime, "summary", "system", TEXTS[3])] + segments[7:]
    stats = pager.sync(changed)
    assert stats.evaluated < len(joined(changed))
    assert_same_distribution(pager.next_logits(), fresh_logits(runtime, joined(changed)))


def test_fast_mode_edit_evaluates_only_the_changed_segment(runtime, pager):
    segments = conversation(runtime, 8)
    pager.sync(segments)
    edited = list(segments)
    edited[2] = segment(runtime, "core:human", "system", TEXTS[0] + " He is allergic to cats.")
    stats = pager.sync(edited)
    assert stats.changed == ("core:human",)
    assert stats.evaluated <= len(edited[2].tokens)
    assert stats.shifted == len(joined(edited[3:]))


def test_generation_after_sync_evaluates_only_the_generation_prompt(runtime, pager, capsys):
    segments = conversation(runtime)
    pager.sync(segments)
    generation = runtime.tokenize(runtime.chat_format.generation_prompt)
    runtime.llama.verbose = True
    try:
        runtime.generate_text(list(joined(segments)) + generation, max_tokens=4, sampling=GREEDY)
    finally:
        runtime.llama.verbose = False
    assert f"remaining {len(generation)} prompt tokens to eval" in capsys.readouterr().err


def test_a_generation_prompt_synced_with_the_window_is_sampled_without_another_decode(runtime, pager, capsys):
    generation = Segment("generation", tuple(runtime.tokenize(runtime.chat_format.generation_prompt)))
    segments = [*conversation(runtime), generation]
    pager.sync(segments)
    runtime.llama.verbose = True
    try:
        reply = runtime.generate_text(list(joined(segments)), max_tokens=4, sampling=GREEDY)
    finally:
        runtime.llama.verbose = False
    assert "full prompt already cached" in capsys.readouterr().err
    fresh = ModelRuntime(RuntimeSettings(n_ctx=2048, seed=1, n_seq_max=1))
    try:
        assert reply == fresh.generate_text(list(joined(segments)), max_tokens=4, sampling=GREEDY)
    finally:
        fresh.close()


def test_a_window_ending_on_kept_cells_still_leaves_the_last_tokens_logits(runtime, pager):
    """The generation prompt's markup is found again in the cache (the previous turn's), so the
    plan ends on kept cells and the new message is a hole filled without logits; the sync must
    still end with a decode of the last token, or generation would read no logits at all."""
    generation = Segment("generation", tuple(runtime.tokenize(runtime.chat_format.generation_prompt)))
    reply = segment(runtime, "reply", "assistant", TEXTS[7])
    head = conversation(runtime, 2)
    pager.sync([*head, generation, reply])
    target = [*head, segment(runtime, "next", "user", TEXTS[8]), generation]
    planned = plan_sync(pager.tokens, [s.tokens for s in target])
    assert isinstance(planned.runs[-1], Keep)
    stats = pager.sync(target)
    assert stats.evaluated == planned.evaluated + 1  # the message, and the kept last token again
    assert pager.cache.logits_at == len(joined(target)) - 1
    assert np.isfinite(pager.cache.last_logits()).all()


def test_logits_are_never_read_from_a_decode_that_did_not_ask_for_them(runtime):
    cache = SequenceCache(runtime.llama)
    try:
        cache.clear()
        cache.evaluate_at(runtime.tokenize(TEXTS[0]), 0, logits=False)
        with pytest.raises(KVError, match="no logits"):
            cache.last_logits()
    finally:
        cache.clear()
        runtime.llama.n_tokens = 0
        cache.close()


def test_a_side_prompt_has_the_whole_window_when_the_conversation_fills_it(runtime, pager):
    segments: list[Segment] = []
    while True:
        more = segment(runtime, f"long{len(segments)}", ("user", "assistant")[len(segments) % 2], " ".join(TEXTS))
        if len(joined(segments)) + len(more.tokens) > runtime.n_ctx - 150:
            break
        segments.append(more)
    pager.sync(segments)
    side = runtime.bos_tokens + runtime.tokenize(" ".join(TEXTS) * 4)
    assert len(joined(segments)) + len(side) > runtime.n_ctx
    summary = pager.run_aside(lambda: runtime.generate_text(side, max_tokens=8, sampling=GREEDY))
    assert summary
    assert pager.tokens == joined(segments)
    assert pager.sync(segments).evaluated == 1  # the last token again, for its logits


def test_a_reply_left_in_the_cache_is_reused_by_the_next_sync(runtime, pager):
    segments = conversation(runtime)
    pager.sync(segments)
    generation = runtime.tokenize(runtime.chat_format.generation_prompt)
    runtime.generate_text(list(joined(segments)) + generation, max_tokens=6, sampling=GREEDY)
    in_cache = pager.tokens[len(joined(segments)):]
    end_of_turn = tuple(runtime.tokenize(runtime.chat_format.suffixes["assistant"]))
    reply = Segment("reply", in_cache + end_of_turn)
    question = segment(runtime, "next", "user", TEXTS[6])
    stats = pager.sync(segments + [reply, question])
    assert stats.evaluated == len(end_of_turn) + len(question.tokens)
    assert stats.reused == len(joined(segments)) + len(in_cache)


def test_run_aside_leaves_the_main_cache_unchanged_and_usable(runtime, pager):
    segments = conversation(runtime)
    pager.sync(segments)
    before = pager.next_logits()
    summary_prompt = runtime.tokenize(runtime.chat_format.render("user", "Summarise: " + TEXTS[3]))
    text = pager.run_aside(lambda: runtime.generate_text(summary_prompt, max_tokens=5, sampling=GREEDY))
    assert text
    assert pager.tokens == joined(segments)
    assert pager.cache.pos_max() == len(joined(segments)) - 1
    assert pager.sync(segments).evaluated == 1  # the last token again, for its logits
    assert_same_distribution(pager.next_logits(), before)


@pytest.fixture(scope="module")
def unshiftable_runtime(runtime):
    """A runtime whose sliding-window cache is not full-size: llama.cpp cannot shift it."""
    other = ModelRuntime(RuntimeSettings(n_ctx=2048, seed=1))
    other.llama.close()
    with model_params_with_repack(None):
        other.llama = llama_cpp.Llama(model_path=str(other.model_file.path), n_ctx=2048, n_batch=512,
                                      swa_full=False, verbose=False)
    yield other
    other.close()


def test_a_cache_that_cannot_shift_falls_back_to_re_evaluating_from_the_first_change(unshiftable_runtime, caplog):
    runtime = unshiftable_runtime
    pager = KVPager(runtime, mode="fast")
    assert not pager.cache.can_shift
    segments = conversation(runtime)
    pager.sync(segments)
    evicted = segments[:3] + [segment(runtime, "summary", "system", TEXTS[8])] + segments[6:]
    stats = pager.sync(evicted)
    assert stats.fallback
    old, new = joined(segments), joined(evicted)
    prefix = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
    assert prefix >= len(joined(segments[:3]))
    assert stats.evaluated == len(new) - prefix
    assert pager.tokens == joined(evicted)
    assert_same_distribution(pager.next_logits(), fresh_logits(runtime, joined(evicted)))
    pager.close()


def test_an_out_of_step_cache_is_detected_and_rebuilt(runtime, pager, caplog):
    segments = conversation(runtime)
    pager.sync(segments)
    pager.cache.drop(5)  # someone else truncated the cache behind the pager's back
    with caplog.at_level(logging.WARNING):
        stats = pager.sync(segments)
    assert "starting over" in caplog.text
    assert stats.evaluated == len(joined(segments))
    assert pager.cache.pos_max() == len(joined(segments)) - 1


def test_changes_at_the_head_of_a_window_longer_than_the_sliding_window_keep_their_context(runtime, pager):
    long_messages = [segment(runtime, f"msg{i}", ("user", "assistant")[i % 2], " ".join(TEXTS[i % 10:] + TEXTS[:i % 10]))
                     for i in range(7)]
    segments = conversation(runtime, 0) + long_messages
    assert len(joined(segments)) > pager.cache.n_swa + 200
    pager.sync(segments)
    edited = list(segments)
    edited[2] = segment(runtime, "core:human", "system", TEXTS[0] + " He is allergic to cats.")
    for changed in (edited, edited[:3] + [segment(runtime, "summary", "system", TEXTS[7])] + edited[6:]):
        stats = pager.sync(changed)
        assert not stats.fallback
        assert stats.evaluated < len(joined(changed)) // 2
        assert pager.tokens == joined(changed)
        assert pager.cache.pos_min() == 0 and pager.cache.pos_max() == len(joined(changed)) - 1


def test_an_edit_at_the_head_of_a_long_window_evaluates_only_the_changed_segment(runtime, pager):
    """The pinned sliding-window cells of the head survive, so nothing before the edit is redone."""
    assert pager.cache.pinning
    long_messages = [segment(runtime, f"msg{i}", ("user", "assistant")[i % 2], " ".join(TEXTS[i % 10:] + TEXTS[:i % 10]))
                     for i in range(14)]
    segments = conversation(runtime, 0) + long_messages
    assert len(joined(segments)) > 2 * pager.cache.n_swa
    pager.sync(segments)
    runtime.generate_text(list(joined(segments)) + runtime.tokenize(runtime.chat_format.generation_prompt),
                          max_tokens=8, sampling=GREEDY)
    edited = list(segments)
    edited[2] = segment(runtime, "core:human", "system", TEXTS[0] + " He is allergic to cats.")
    stats = pager.sync(edited)
    assert stats.changed == ("core:human",)
    assert stats.evaluated <= len(edited[2].tokens)
    assert pager.tokens == joined(edited)
    mem = pager.cache._mem
    assert llama_cpp.llama_memory_seq_pos_min(mem, PIN) == 0
    assert llama_cpp.llama_memory_seq_pos_max(mem, PIN) == len(joined(edited)) - 1
    assert llama_cpp.llama_memory_seq_pos_max(mem, PARK) == -1
    pager.sync(edited[:3])  # the edited segment's cells saw only what precedes it, as a fresh evaluation
    pinned, fresh = probabilities(pager.next_logits()), probabilities(fresh_logits(runtime, joined(edited[:3])))
    # a segment decoded on its own differs from one batch by float noise, and the next token after
    # a system turn is nearly flat, so only the probabilities are compared
    assert np.abs(pinned - fresh).max() < 0.05


def test_an_eviction_compacts_the_cache_keeping_its_values_pin_and_sliding_window_cells(runtime, pager, monkeypatch):
    """Dropping the oldest messages moves the kept cells to the front of the cache; the next
    token's distribution is the one without compacting, and an edit at the head still finds the
    head's sliding-window cells."""
    long_messages = [segment(runtime, f"msg{i}", ("user", "assistant")[i % 2], " ".join(TEXTS[i % 10:] + TEXTS[:i % 10]))
                     for i in range(14)]
    segments = conversation(runtime, 0) + long_messages
    evicted = segments[:3] + [segment(runtime, "summary", "system", TEXTS[7])] + segments[10:]
    edited = list(evicted)
    edited[2] = segment(runtime, "core:human", "system", TEXTS[0] + " He is allergic to cats.")
    assert len(joined(segments[4:10])) >= kv_pager.COMPACT_AFTER_DROPPING
    compactions = []
    compact = pager.cache.compact
    monkeypatch.setattr(pager.cache, "compact", lambda: (compactions.append(pager.tokens), compact()))

    def run(threshold: int) -> tuple[np.ndarray, np.ndarray]:
        monkeypatch.setattr(kv_pager, "COMPACT_AFTER_DROPPING", threshold)
        pager.cache.clear()
        pager._record(())
        pager.sync(segments)
        stats = pager.sync(evicted)
        assert not stats.fallback and stats.changed == ("summary",) and stats.evaluated <= len(evicted[3].tokens)
        after_eviction = pager.next_logits()
        stats = pager.sync(edited)
        assert stats.changed == ("core:human",) and stats.evaluated <= len(edited[2].tokens)
        return after_eviction, pager.next_logits()

    uncompacted = run(1 << 30)
    assert not compactions
    compacted = run(256)
    assert len(compactions) == 1
    assert pager.tokens == joined(edited)
    mem = pager.cache._mem
    assert pager.cache.pos_min() == 0 and pager.cache.pos_max() == len(joined(edited)) - 1
    assert llama_cpp.llama_memory_seq_pos_min(mem, PIN) == 0
    assert llama_cpp.llama_memory_seq_pos_max(mem, PIN) == len(joined(edited)) - 1
    assert llama_cpp.llama_memory_seq_pos_max(mem, PARK) == -1
    for a, b in zip(compacted, uncompacted):
        assert_same_distribution(a, b)


@pytest.fixture(scope="module")
def single_sequence_runtime(runtime):
    """A runtime whose context has one sequence: changes in the middle go through the saved state."""
    other = ModelRuntime(RuntimeSettings(n_ctx=2048, seed=1, n_seq_max=1))
    yield other
    other.close()


def test_with_one_sequence_changes_in_the_middle_go_through_the_sequence_state(single_sequence_runtime):
    runtime = single_sequence_runtime
    pager = KVPager(runtime, mode="fast")
    assert not pager.cache.pinning and pager.cache.can_shift
    rng = random.Random(11)
    segments = conversation(runtime)
    pager.sync(segments)
    for step in range(8):
        segments = random_step(rng, runtime, segments, step)
        stats = pager.sync(segments)
        assert not stats.fallback
        assert pager.tokens == joined(segments)
        assert pager.cache.pos_min() == 0 and pager.cache.pos_max() == len(joined(segments)) - 1
    pager.close()
