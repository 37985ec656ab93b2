"""Regenerate tests/reliability/REPORT.md: crash kills, faults, bad input and fuzz cases.

    .venv/bin/python -m tests.reliability.report --kills 50 --seed 1

Runs the crash harness for ``--kills`` real SIGKILLs, then the fault, bad-input and hostile-output
tests of this folder (with ``--fuzz`` cases per fuzz property), and writes the figures. Model
work holds the shared CPU lock (``--cpu-lock``) one episode or one test phase at a time.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TEST_FILES = ("test_faults.py", "test_bad_input.py", "test_hostile_prompt.py", "test_hostile_calls.py")


class Outcomes:
    """A pytest plugin that keeps each test's outcome."""

    def __init__(self) -> None:
        self.results: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.results[report.nodeid] = report.outcome if report.when == "call" else f"{report.outcome} ({report.when})"


@contextmanager
def cpu_lock(path: Path | None):
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_crashes(kills: int, seed: int, lock: Path | None, progress=None):
    from engine.runtime.model_file import ensure_embedded_model
    from tests.reliability.crash_harness import CrashHarness

    with tempfile.TemporaryDirectory(prefix="llmos-crash-") as root:
        harness = CrashHarness(Path(root), seed, ensure_embedded_model(), cpu_lock=lock,
                               log=lambda line: print(line, file=sys.stderr, flush=True))
        return harness.run(kills, progress=progress)


def run_tests(fuzz: int, lock: Path | None) -> tuple[Outcomes, float, int]:
    import tests.reliability.fuzz_calls as fuzz_calls

    counted = {"n": 0}
    original = fuzz_calls.run_fuzz

    def counting(*args, **kwargs):
        counts = original(*args, **kwargs)
        counted["n"] += sum(counts.values())
        return counts

    fuzz_calls.run_fuzz = counting
    os.environ["LLMOS_FUZZ_EXAMPLES"] = str(fuzz)
    outcomes, start = Outcomes(), time.monotonic()
    with cpu_lock(lock):
        pytest.main(["-q", "-p", "no:cacheprovider", *[str(HERE / f) for f in TEST_FILES]], plugins=[outcomes])
    return outcomes, time.monotonic() - start, counted["n"]


def render(args, crash, crash_seconds: float, outcomes: Outcomes, test_seconds: float, fuzz_cases: int) -> str:
    by_file: dict[str, list[tuple[str, str]]] = {}
    for nodeid, outcome in outcomes.results.items():
        path, _, name = nodeid.partition("::")
        by_file.setdefault(Path(path).name, []).append((name, outcome))
    passed = sum(o == "passed" for o in outcomes.results.values())
    faults = [n for n, o in by_file.get("test_faults.py", []) if o == "passed"]
    lines = [
        "# Reliability report",
        "",
        "Regenerate with (about 20-30 minutes on 2 cores, mostly the kills):",
        "",
        f"    .venv/bin/python -m tests.reliability.report --kills {args.kills} --seed {args.seed} --fuzz {args.fuzz}",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs.",
        "",
        "## Crashes (real SIGKILL, `crash_harness.py`)",
        "",
        f"- kills survived: **{crash.kills}** in {crash.episodes} episodes (seed {crash.seed}); "
        f"{crash.armed_not_fired} armed episodes ended before their point was reached",
        f"- kills by point: {', '.join(f'{p} {n}' for p, n in sorted(crash.kills_by_point.items()))}",
        f"- acknowledged messages: {crash.acked_messages}; acknowledged archival passages: {crash.acked_passages}",
        f"- **messages lost: {crash.lost}**; stored twice: {crash.duplicated}",
        f"- conversation resumed after the last kill: {'yes' if crash.resumed else 'NO'}"
        + (" (not yet checked: the run is in progress)" if not crash.resumed and crash.kills < args.kills else ""),
        f"- invariant problems found: {len(crash.problems)}",
        *[f"  - {p[:300]}" for p in crash.problems[:20]],
        f"- time: {crash_seconds:.0f} s",
        "",
        "After every kill the data directory is opened as a restart would: each acknowledged message",
        "and passage stored exactly once, core memory versions contiguous and within limits, both",
        "vector indexes equal to their tables (loaded, or rebuilt from stored embeddings), the window",
        "state pointing at a stored message. The episode after a kill is the restart itself.",
        "",
        "## Faults, bad input, hostile output (pytest, this folder)",
        "",
        f"- faults injected and handled: **{len(faults)}** ({', '.join(faults)})",
        f"- fuzz cases run through parser and dispatcher: **{fuzz_cases}**",
        f"- tests passed: {passed} of {len(outcomes.results)}; time: {test_seconds:.0f} s",
        "",
    ]
    for name, rows in sorted(by_file.items()):
        lines.append(f"### {name}")
        lines.append("")
        lines.extend(f"- {outcome}: `{test}`" for test, outcome in rows)
        lines.append("")
    lines.append("Raw figures: `" + json.dumps({"kills": crash.kills, "lost": crash.lost, "duplicated": crash.duplicated,
                                                "faults": len(faults), "fuzz_cases": fuzz_cases,
                                                "tests_passed": passed, "tests": len(outcomes.results)}) + "`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fuzz", type=int, default=2000, help="fuzz cases for the fuzz property")
    parser.add_argument("--cpu-lock", type=Path, default=Path("/tmp/llmos-cpu.lock"),
                        help="a lock file shared with other CPU-heavy work ('' for none)")
    parser.add_argument("--out", type=Path, default=HERE / "REPORT.md")
    args = parser.parse_args(argv)
    lock = args.cpu_lock if str(args.cpu_lock) else None
    start = time.monotonic()
    def partial(report) -> None:  # figures so far, in case the run is cut short
        args.out.write_text(render(args, report, report.seconds, Outcomes(), 0.0, 0).replace(
            "# Reliability report", "# Reliability report (IN PROGRESS: crash run not finished)", 1))

    crash = run_crashes(args.kills, args.seed, lock, partial)
    crash_seconds = time.monotonic() - start
    outcomes, test_seconds, fuzz_cases = run_tests(args.fuzz, lock)
    args.out.write_text(render(args, crash, crash_seconds, outcomes, test_seconds, fuzz_cases))
    print(f"wrote {args.out}: {crash.kills} kills, {crash.lost} lost, {fuzz_cases} fuzz cases", file=sys.stderr)
    return 0 if crash.ok and all(o == "passed" for o in outcomes.results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
