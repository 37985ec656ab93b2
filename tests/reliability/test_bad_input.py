"""Bad input through the real CLI and facade: stored faithfully or refused clearly, never a crash.

Decisions: a message that is empty or only whitespace/control characters is refused with
"the message is empty" and nothing is stored (in ``chat --ack`` the refusal is a
``refused: ...`` line and the chat goes on). Bytes that are not UTF-8 become U+FFFD; control
characters other than newline and tab are dropped; everything else is stored exactly.
"""

import os

import pytest

from engine.api import Engine
from engine.errors import InputError
from engine.memory.store import MemoryStore
from tests.reliability.conftest import assert_one_line_error, llmos

INVALID = b"caf\xe9 na\xefve \xff\xfe ok \x01\x02\x1b[31m red\x7f end"
WORLD = "Emoji 🐈‍⬛ 👩🏽‍💻 ✨ and right-to-left: שלום עולם — مرحبا بالعالم (mixed ‏RTL‏ marks)"
PASTE_LINE = "2024-05-{:02d} 12:{:02d}:07 worker-{} INFO processed batch {} in {} ms; queue depth {}\n"


def _paste() -> str:
    lines, size, i = [], 0, 0
    while size < 1_000_000:
        line = PASTE_LINE.format(i % 28 + 1, i % 60, i % 7, i, i % 997, i % 50)
        lines.append(line)
        size += len(line.encode())
        i += 1
    return "Here is my whole log file: " + "".join(lines).replace("\n", " | ")


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One real chat over stdin with every kind of bad line, then the stored messages."""
    root = tmp_path_factory.mktemp("bad_input")
    paste = _paste()
    lines = [INVALID, WORLD.encode(), b"   \t  ", b"\x01\x02\x03", paste.encode(), b"Thanks, that is all."]
    env = dict(os.environ, LLMOS_CACHE_DIR=str(root / "cache"))
    result = llmos("chat", "--ack", "--data-dir", str(root / "data"), "--n-ctx", "1024", "--max-steps", "1",
                   "--summaries", "extractive", stdin=b"\n".join(lines) + b"\n", env=env, timeout=600)
    with MemoryStore.open(root / "data") as store:
        agent = store.agents.list()[0]
        users = [m.content for m in store.recall.range(agent.id, limit=100) if m.role == "user"]
    return result, users, paste


def test_the_chat_survives_every_bad_line(session):
    result, users, _ = session
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout.splitlines()
    assert sum(line.startswith("ack ") for line in out) == 4
    assert sum(line.startswith("refused: the message is empty") for line in out) == 2


def test_invalid_utf8_is_replaced_and_control_characters_dropped(session):
    _, users, _ = session
    assert users[0] == "caf\ufffd na\ufffdve \ufffd\ufffd ok [31m red end"


def test_emoji_and_right_to_left_text_round_trip_exactly(session):
    _, users, _ = session
    assert users[1] == WORLD


def test_whitespace_and_control_only_messages_store_nothing(session):
    _, users, _ = session
    assert len(users) == 4 and all(u.strip() for u in users)


def test_a_one_megabyte_paste_is_stored_whole(session):
    _, users, paste = session
    assert users[2] == paste and len(paste.encode()) >= 1_000_000
    assert users[3] == "Thanks, that is all."


def test_empty_message_through_the_facade_is_refused_and_nothing_stored(tmp_path):
    engine = Engine(tmp_path / "data", cache_dir=tmp_path / "cache")
    try:
        for text in ("", "   \n\t ", "\x00\x01\x1b"):
            with pytest.raises(InputError, match="the message is empty"):
                list(engine.send(text))
        assert engine.history() == []
    finally:
        engine.close()


def test_empty_one_shot_message_is_one_line(tmp_path):
    assert_one_line_error(llmos("chat", "-m", "  ", "--data-dir", str(tmp_path / "data"), "--n-ctx", "1024"),
                          "the message is empty")


def test_import_skips_binary_huge_undecodable_and_empty_files_with_reasons(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "notes.md").write_text("# Keys\n\nThe spare key is under the blue pot.\n")
    (files / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(5000))
    with (files / "huge.txt").open("wb") as huge:  # sparse: 25 MB on paper, nothing on disk
        huge.truncate(25 * 1024 * 1024)
    (files / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (files / "empty.txt").write_bytes(b"")
    result = llmos("memory", "import", *map(str, sorted(files.iterdir())), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "imported 1 passages from 1 files" in result.stdout
    reasons = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line.split(": ", 1)[1]
               for line in result.stderr.splitlines() if line.startswith("skipped ")}
    assert reasons == {"empty.txt": "the file is empty", "huge.txt": "larger than 20 MB",
                       "latin1.txt": "not UTF-8 text", "photo.jpg": "binary file (contains NUL bytes)"}
