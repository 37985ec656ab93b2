"""Recall storage: durable appends, lazy history, BM25 search that also sees unindexed rows."""

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.errors import InputError, NotFoundError
from engine.memory.db import Database
from engine.memory.migrations import apply_migrations
from engine.memory.recall import RecallStore
from engine.memory.timeline import MESSAGE_STORED, SEARCH, Timeline

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from pathlib import Path
from engine.memory.db import Database
from engine.memory.migrations import apply_migrations
from engine.memory.recall import RecallStore
from engine.memory.timeline import Timeline
db = Database.connect(Path(sys.argv[1]))
apply_migrations(db.cursor())
message = RecallStore(db, Timeline(db)).append(1, "user", "remember the blue umbrella")
print(message.id, flush=True)
time.sleep(600)
"""


@pytest.fixture
def recall(db, timeline) -> RecallStore:
    return RecallStore(db, timeline)


def test_message_survives_a_kill_right_after_append_returns(tmp_path):
    path = tmp_path / "killed.duckdb"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        message_id = int(child.stdout.readline())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    db = Database.connect(path)
    try:
        apply_migrations(db.cursor())
        message = RecallStore(db, Timeline(db)).get(message_id)
    finally:
        db.close()
    assert message.content == "remember the blue umbrella"


def test_append_returns_the_stored_message_and_logs_it(recall, timeline):
    message = recall.append(1, "user", "hello there", name="ana")
    assert recall.get(message.id) == message
    events = timeline.query(1, kinds=(MESSAGE_STORED,))
    assert events[-1].payload == {"message_id": message.id, "role": "user"}


def test_unknown_role_and_missing_message_are_user_errors(recall):
    with pytest.raises(InputError):
        recall.append(1, "robot", "beep")
    with pytest.raises(NotFoundError):
        recall.get(12345)


def test_messages_by_id_returns_the_stored_ones_of_any_agent_and_skips_missing_ids(recall):
    mine = recall.append(1, "user", "mine", name="ana")
    theirs = recall.append(2, "assistant", "theirs")
    found = recall.messages([theirs.id, 12345, mine.id])
    assert found == {mine.id: mine, theirs.id: theirs}
    assert recall.messages([]) == {}


def test_a_text_search_hit_carries_the_message_it_found(recall):
    message = recall.append(1, "user", "the blue umbrella is in the hall", name="ana")
    hit = recall.search_text(1, "umbrella").items[0]
    assert (hit.tier, hit.id, hit.text, hit.created_at, hit.name, hit.role) == (
        "recall", message.id, message.content, message.created_at, "ana", "user")


def test_append_many_stores_rows_in_order_per_agent(recall):
    day = datetime(2024, 1, 1)
    recall.append_many(7, [("user", f"line {i}", None, day + timedelta(minutes=i)) for i in range(100)])
    assert recall.count(7) == 100
    assert recall.count(8) == 0
    assert [m.content for m in recall.range(7, limit=3)] == ["line 0", "line 1", "line 2"]


def test_range_before_id_gives_the_messages_just_before_it_oldest_first(recall):
    ids = [recall.append(1, "user", f"m{i}").id for i in range(10)]
    recall.append(2, "user", "other agent")
    older = recall.range(1, before_id=ids[6], limit=3)
    assert [m.content for m in older] == ["m3", "m4", "m5"]
    assert [m.content for m in recall.range(1, after_id=ids[7])] == ["m8", "m9"]


def test_text_search_finds_a_message_added_after_the_last_index_rebuild(recall):
    recall.append(1, "user", "we walked the dog along the river")
    recall.append(1, "assistant", "the weather looks fine today")
    recall.fts.rebuild()
    fresh = recall.append(1, "user", "my sister has a new piano")
    assert fresh.id > recall.fts.covered_max_id()
    result = recall.search_text(1, "piano")
    assert [h.id for h in result.items] == [fresh.id]
    assert result.items[0].tier == "recall" and result.items[0].role == "user"


def test_text_search_ranks_indexed_and_fresh_rows_together(recall):
    old = recall.append(1, "user", "coffee in the morning")
    recall.append(1, "user", "tea at night")
    recall.fts.rebuild()
    fresh = recall.append(1, "user", "more coffee please")
    ids = {h.id for h in recall.search_text(1, "coffee").items}
    assert ids == {old.id, fresh.id}


def test_text_search_works_before_any_index_exists(recall):
    message = recall.append(1, "user", "Tokyo trip in April")
    assert [h.id for h in recall.search_text(1, "tokyo").items] == [message.id]


def test_text_search_sees_only_the_asked_agents_messages(recall):
    recall.append(1, "user", "garden party")
    recall.append(2, "user", "garden tools")
    recall.fts.rebuild()
    assert [h.text for h in recall.search_text(2, "garden").items] == ["garden tools"]


def test_search_pages_report_the_total_of_every_match(recall, timeline):
    for i in range(25):
        recall.append(1, "user", f"note {i} about the marathon")
    recall.fts.rebuild()
    for i in range(5):
        recall.append(1, "user", f"late note {i} about the marathon")
    pages = [recall.search_text(1, "marathon", page=p, page_size=10) for p in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [30, 30, 30, 30]
    assert [len(p.items) for p in pages] == [10, 10, 10, 0]
    assert pages[0].pages == 3
    assert len({h.id for p in pages for h in p.items}) == 30
    assert timeline.count(1, SEARCH) == 4


def test_blank_or_punctuation_queries_give_an_empty_page(recall):
    recall.append(1, "user", "anything")
    assert recall.search_text(1, "   ").total == 0
    assert recall.search_text(1, "'; DROP TABLE messages; --").total == 0
    assert recall.count(1) == 1


def test_quotes_in_a_query_are_data_not_sql(recall):
    message = recall.append(1, "user", "it's o'clock")
    recall.fts.rebuild()
    assert message.id in {h.id for h in recall.search_text(1, "o'clock").items}


def test_date_search_returns_messages_in_the_range_oldest_first(recall):
    day = datetime(2024, 3, 1)
    rows = [("user", f"day {i} lunch" if i % 2 else f"day {i} dinner", None, day + timedelta(days=i)) for i in range(10)]
    recall.append_many(1, rows)
    result = recall.search_date(1, day + timedelta(days=2), day + timedelta(days=5))
    assert [h.text for h in result.items] == ["day 2 dinner", "day 3 lunch", "day 4 dinner"]
    assert result.total == 3
    lunches = recall.search_date(1, day, day + timedelta(days=10), query="lunch", page_size=2)
    assert lunches.total == 5 and [h.text for h in lunches.items] == ["day 1 lunch", "day 3 lunch"]


def test_searches_before_a_message_leave_it_and_everything_after_out(recall):
    old = recall.append(1, "user", "the spare key is under the blue pot")
    recall.fts.rebuild()
    question = recall.append(1, "user", "where is the spare key?")
    recall.append(1, "assistant", "looking for the spare key")
    assert [h.id for h in recall.search_text(1, "spare key", before_id=question.id).items] == [old.id]
    assert recall.search_text(1, "spare key", before_id=question.id).total == 1
    assert recall.search_text(1, "spare key").total == 3
    day = datetime.now() - timedelta(days=1)
    dated = recall.search_date(1, day, day + timedelta(days=2), before_id=question.id)
    assert [h.id for h in dated.items] == [old.id]


def test_background_rebuild_covers_new_rows_and_never_runs_twice(recall):
    recall.append_many(1, [("user", f"row {i}", None, None) for i in range(50)])
    with recall.fts._building:  # as if a rebuild were running
        assert recall.fts.rebuild_in_background() is False
    assert recall.fts.rebuild_in_background() is True
    recall.fts.wait()
    assert recall.fts.covered_max_id() == recall.range(1, limit=100)[-1].id
    assert not recall.fts.needs_rebuild(threshold=1)


def test_many_rows_outside_the_index_trigger_a_background_rebuild(db, timeline):
    recall = RecallStore(db, timeline, rebuild_threshold=10)
    recall.append_many(1, [("user", f"row {i}", None, None) for i in range(20)])
    recall.fts.wait()
    assert recall.fts.covered_max_id() >= 20
