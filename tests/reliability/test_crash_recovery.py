"""Real SIGKILLs at the engine's durability points lose no acknowledged message (crash_harness.py)."""

import pytest

from engine.runtime.model_file import ensure_embedded_model
from tests.reliability.crash_harness import CrashHarness, Episode


def _harness(tmp_path, seed: int, max_steps: int = 2) -> CrashHarness:
    return CrashHarness(tmp_path, seed, ensure_embedded_model(), max_steps=max_steps)


def test_kills_mid_append_mid_archival_insert_and_mid_reply_lose_no_acknowledged_message(tmp_path):
    harness = _harness(tmp_path, seed=11, max_steps=1)
    text = harness.next_text
    script = [
        Episode("chat", (text(), text()), "append:3"),        # second message stored, not yet acknowledged
        Episode("insert", (text(),), "archival_insert:1"),   # row committed, index not updated
        Episode("chat", (text(), text()), "generation:12"),   # mid-reply, after a restart
    ]
    report = harness.run(kills=3, episodes=script, max_episodes=3)
    assert report.kills == 3, report
    assert report.lost == 0 and report.duplicated == 0, report.problems
    assert report.resumed and report.ok, report.problems
    assert report.acked_messages >= 4


@pytest.mark.slow
def test_fifty_random_kills_lose_no_acknowledged_message(tmp_path):
    report = _harness(tmp_path, seed=1).run(kills=50)
    assert report.kills >= 50, report
    assert report.lost == 0 and report.duplicated == 0, report.problems
    assert report.ok, report.problems
