"""Crash harness: run scripted turns in a real ``llmos`` process, SIGKILL it, restart, check.

Each *episode* is one process on one data directory: ``llmos chat --ack`` reading a few lines
from stdin, or ``llmos memory insert``. Most episodes are armed with ``LLMOS_CRASH_AT`` (see
``engine/crash_points.py``) so the process kills itself with SIGKILL at a named point (mid-append,
mid-generation, mid-eviction, mid-summary, mid-archival-insert, mid-index-save, mid-KV-save);
some are killed from outside after a random delay. After every kill the harness opens the data
directory and checks:

- every acknowledged message (the CLI printed ``ack ID``: it is committed before the model sees
  it) and every acknowledged passage (``stored passage #ID``) is stored exactly once;
- every core memory block has versions 1..n and its newest value is within its limit;
- the archival and message vector indexes agree with their tables (loaded or rebuilt);
- the window state points at a stored message;
and the next episode is the restart: the conversation must resume. The last episode runs
without a crash and must answer every line. A seed fixes the schedule (points, counts, delays,
texts) and the sampling seed, so a run repeats, up to the exact instant of the timer kills.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCK_BATCH_SECONDS = 900

# point -> (lowest, highest) count at which it fires, within one process
POINTS: dict[str, tuple[int, int]] = {
    "append": (1, 8),
    "generation": (1, 80),
    "eviction": (1, 2),
    "summary": (1, 2),
    "kv_save": (1, 3),
    "index_save": (1, 3),
    "archival_insert": (1, 1),
    "core_edit": (1, 1),  # scripted only: the embedded 270M model seldom edits core memory
    "timer": (3, 30),  # seconds after start, killed from outside
}
INSERT_POINTS = ("archival_insert", "index_save", "timer")

FACTS = ("My sister Mia lives in Lisbon and teaches piano.", "I adopted a grey cat called Miso last spring.",
         "Remember that my favourite tea is smoky lapsang.", "I work night shifts at the harbour office.",
         "My birthday is on the 3rd of March.", "Please save this: the spare key is under the blue pot.",
         "I am learning Portuguese for a trip in June.", "My brother Tomas broke his arm skiing.",
         "Remember that I am allergic to peanuts.", "We talked about moving to a smaller flat.",
         "I finished reading a long novel about whales.", "My manager is called Ruth and she is strict.",
         "Número favorito: 7 ✨ — emoji 🐈 and עברית text too.", "I plant tomatoes on my balcony every May.")


@dataclass(frozen=True)
class Episode:
    """One process run: ``kind`` is "chat" or "insert"; ``crash`` is "point:n", "timer:s" or None."""

    kind: str
    texts: tuple[str, ...]
    crash: str | None
    summaries: str = "extractive"


@dataclass
class EpisodeResult:
    episode: Episode
    returncode: int
    acked: list[str]
    replies: int
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


@dataclass
class Check:
    """What one check after a kill found; ``problems`` empty means all is well."""

    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class HarnessReport:
    seed: int
    episodes: int = 0
    kills: int = 0
    kills_by_point: Counter = field(default_factory=Counter)
    armed_not_fired: int = 0
    acked_messages: int = 0
    acked_passages: int = 0
    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and self.lost == 0 and self.duplicated == 0 and self.resumed


class CrashHarness:
    """Drives episodes on one data directory and checks it after each kill."""

    def __init__(self, root: Path, seed: int, model_path: Path, n_ctx: int = 1024, max_steps: int = 2,
                 cpu_lock: Path | None = None, log=None) -> None:
        self.root, self.seed, self.model_path, self.n_ctx = Path(root), seed, Path(model_path), n_ctx
        self.max_steps = max_steps
        self.data_dir, self.cache_dir = self.root / "data", self.root / "cache"
        self.cpu_lock, self.log = cpu_lock, log or (lambda line: None)
        self.rng = random.Random(seed)
        self.acked_messages: dict[str, int] = {}
        self.acked_passages: dict[str, int] = {}
        self._n = 0
        self._lock_handle, self._locked_at = None, 0.0

    # -- schedule ---------------------------------------------------------------------------------

    def next_text(self) -> str:
        self._n += 1
        return f"({self.seed}-{self._n}) {self.rng.choice(FACTS)}"

    def random_episode(self) -> Episode:
        """A seeded choice of episode; a third of them insert passages, the rest chat."""
        if self.rng.random() < 0.25:
            point = self.rng.choice(INSERT_POINTS)
            return Episode("insert", (self.next_text(),), self._arm(point))
        point = self.rng.choice([p for p in POINTS if p not in ("archival_insert", "core_edit")])
        texts = tuple(self.next_text() for _ in range(self.rng.randint(2, 3)))
        summaries = "model" if point == "summary" and self.rng.random() < 0.5 else "extractive"
        return Episode("chat", texts, self._arm(point), summaries)

    def _arm(self, point: str) -> str:
        lo, hi = POINTS[point]
        return f"{point}:{self.rng.randint(lo, hi)}"

    # -- running ----------------------------------------------------------------------------------

    def run(self, kills: int, max_episodes: int | None = None, episodes: list[Episode] | None = None,
            progress=None) -> HarnessReport:
        """Run ``episodes`` (or random ones) until ``kills`` kills, then a clean resume episode;
        ``progress(report)`` sees the figures after every episode."""
        report, start = HarnessReport(self.seed), time.monotonic()
        scripted = list(episodes or [])
        limit = max_episodes or kills * 3
        while report.kills < kills and report.episodes < limit:
            episode = scripted.pop(0) if scripted else self.random_episode()
            self._record(report, self.run_episode(episode))
            report.seconds = time.monotonic() - start
            report.acked_messages, report.acked_passages = len(self.acked_messages), len(self.acked_passages)
            if progress:
                progress(report)
        final = self.run_episode(Episode("chat", (self.next_text(), self.next_text()), None))
        self._record(report, final)
        report.resumed = final.returncode == 0 and len(final.acked) == 2 and final.replies >= 2
        if not report.resumed:
            report.problems.append(f"the conversation did not resume: rc {final.returncode}, "
                                   f"{len(final.acked)} acks, {final.replies} replies; {_error_line(final.stderr)}")
        report.acked_messages, report.acked_passages = len(self.acked_messages), len(self.acked_passages)
        report.seconds = time.monotonic() - start
        self.release_cpu()
        return report

    def _record(self, report: HarnessReport, result: EpisodeResult) -> None:
        report.episodes += 1
        point = (result.episode.crash or "none").split(":")[0]
        if result.killed:
            report.kills += 1
            report.kills_by_point[point] += 1
        elif result.episode.crash:
            report.armed_not_fired += 1
        if not result.killed and result.returncode != 0:
            report.problems.append(f"episode {report.episodes} ({result.episode.kind}, {result.episode.crash}) "
                                   f"exited {result.returncode}: {_error_line(result.stderr)}")
        check = self.check()
        report.lost += check.lost
        report.duplicated += check.duplicated
        report.problems.extend(f"after episode {report.episodes}: {p}" for p in check.problems)
        self.log(f"episode {report.episodes}: {result.episode.kind} {result.episode.crash or 'clean'} -> "
                 f"{'KILLED' if result.killed else result.returncode} acks={len(result.acked)} "
                 f"replies={result.replies} {result.seconds:.1f}s lost={check.lost} problems={len(check.problems)}")

    def run_episode(self, episode: Episode) -> EpisodeResult:
        env = dict(os.environ, LLMOS_CACHE_DIR=str(self.cache_dir), PYTHONUNBUFFERED="1")
        env.pop("LLMOS_CRASH_AT", None)
        delay = None
        if episode.crash and episode.crash.startswith("timer:"):
            delay = float(episode.crash.split(":")[1]) + self.rng.random()
        elif episode.crash:
            env["LLMOS_CRASH_AT"] = episode.crash
        args = self._command(episode)
        stdin = "".join(t + "\n" for t in episode.texts) if episode.kind == "chat" else ""
        with self._cpu():
            start = time.monotonic()
            proc = subprocess.Popen(args, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            timer = threading.Timer(delay, proc.kill) if delay else None
            if timer:
                timer.start()
            try:
                out, err = proc.communicate(stdin.encode("utf-8"), timeout=600)
            finally:
                if timer:
                    timer.cancel()
            seconds = time.monotonic() - start
        return self._result(episode, proc.returncode, out.decode("utf-8", "replace"),
                            err.decode("utf-8", "replace"), seconds)

    def _command(self, episode: Episode) -> list[str]:
        base = [sys.executable, "-m", "engine.cli"]
        if episode.kind == "insert":
            return base + ["memory", "insert", episode.texts[0], "--data-dir", str(self.data_dir)]
        return base + ["chat", "--ack", "--data-dir", str(self.data_dir), "--model", str(self.model_path),
                       "--n-ctx", str(self.n_ctx), "--max-steps", str(self.max_steps), "--summaries", episode.summaries,
                       "--seed", str(self.seed)]

    def _result(self, episode: Episode, rc: int, out: str, err: str, seconds: float) -> EpisodeResult:
        lines = out.splitlines()
        if episode.kind == "insert":
            acked = [episode.texts[0]] if any(line.startswith("stored passage #") for line in lines) else []
            self.acked_passages.update({t: 1 for t in acked})
            return EpisodeResult(episode, rc, acked, 0, err, seconds)
        acks = [line for line in lines if line.startswith("ack ")]
        acked = list(episode.texts[:len(acks)])  # one line, one ack, in order
        self.acked_messages.update({t: int(a.split()[1]) for t, a in zip(acked, acks)})
        replies = sum(1 for line in lines if line == "end")
        return EpisodeResult(episode, rc, acked, replies, err, seconds)

    @contextmanager
    def _cpu(self):
        """Hold the shared CPU lock across episodes for at most ``LOCK_BATCH_SECONDS`` at a time,
        so other work gets its turn without each episode queueing behind it."""
        if self.cpu_lock is None:
            yield
            return
        if self._lock_handle is None:
            self._lock_handle = open(self.cpu_lock, "a")
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX)
            self._locked_at = time.monotonic()
        try:
            yield
        finally:
            if time.monotonic() - self._locked_at > LOCK_BATCH_SECONDS:
                self.release_cpu()

    def release_cpu(self) -> None:
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    # -- checking ---------------------------------------------------------------------------------

    def check(self) -> Check:
        """Open the data directory as a restart would and check every invariant."""
        from engine.memory.message_views import KINDS
        from engine.memory.store import MemoryStore

        check = Check()
        if not (self.data_dir / "llmos.duckdb").exists():
            if self.acked_messages or self.acked_passages:
                check.problems.append("the database is gone")
            return check
        with MemoryStore.open(self.data_dir) as store:
            cur = store.db.cursor()
            self._check_exactly_once(check, cur, "SELECT content, count(*) FROM messages WHERE role = 'user' "
                                     "GROUP BY content", self.acked_messages)
            self._check_exactly_once(check, cur, "SELECT text, count(*) FROM archival_passages GROUP BY text",
                                     self.acked_passages)
            _check_core(check, store)
            _check_index(check, store.archival.index(), cur, "archival_passages", "1=1", "archival")
            _check_index(check, store.message_vectors.index(), cur, "messages", "embedding IS NOT NULL", "messages")
            for kind in KINDS:
                _check_index(check, store.message_views.index(kind), cur, "message_views", f"kind = '{kind}'",
                             f"{kind} views")
            _check_window(check, cur)
        return check

    @staticmethod
    def _check_exactly_once(check: Check, cur, sql: str, acked: dict[str, int]) -> None:
        stored = dict(cur.execute(sql).fetchall())
        for text in acked:
            if stored.get(text, 0) == 0:
                check.lost += 1
                check.problems.append(f"acknowledged but not stored: {text!r}")
        for text, count in stored.items():
            if count > 1 and text.startswith("("):
                check.duplicated += 1
                check.problems.append(f"stored {count} times: {text!r}")


def _error_line(stderr: str) -> str:
    """The error a failed process reported: its ``llmos:`` line, else its last line."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("llmos:")]
    return (ours or lines or ["(no output)"])[-1][:300]


def _check_core(check: Check, store) -> None:
    rows = store.db.cursor().execute(
        "SELECT agent_id, label, list(version ORDER BY version), arg_max(value, version), arg_max(char_limit, version) "
        "FROM core_block_versions GROUP BY agent_id, label").fetchall()
    for agent_id, label, versions, value, limit in rows:
        if versions != list(range(1, len(versions) + 1)):
            check.problems.append(f"core block {label} of agent {agent_id} has versions {versions}")
        if len(value) > limit:
            check.problems.append(f"core block {label} holds {len(value)} characters, over {limit}")
        store.core.get(agent_id, label)


def _check_index(check: Check, index, cur, table: str, where: str, name: str) -> None:
    ids = [r[0] for r in cur.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY id").fetchall()]
    if index.count != len(ids) or index.max_id != (ids[-1] if ids else 0):
        check.problems.append(f"{name} index holds {index.count} rows up to #{index.max_id}, "
                              f"the table {len(ids)} up to #{ids[-1] if ids else 0}")
    missing = [i for i in ids if i not in index]
    if missing:
        check.problems.append(f"{name} index lacks rows {missing[:5]}")
    if ids and index.manifest_path.exists():
        manifest = json.loads(index.manifest_path.read_text())
        if (manifest["count"], manifest["max_id"]) != (len(ids), ids[-1]):
            check.problems.append(f"{name} manifest {manifest} disagrees with the table after opening")


def _check_window(check: Check, cur) -> None:
    for agent_id, start in cur.execute("SELECT agent_id, queue_start_id FROM context_state").fetchall():
        found = cur.execute("SELECT count(*) FROM messages WHERE id = ? AND agent_id = ?", [start, agent_id]).fetchone()[0]
        if start and not found:
            check.problems.append(f"the window of agent {agent_id} starts at message #{start}, which is not stored")
