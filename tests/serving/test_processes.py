"""``logistics serve --processes N``: the supervisor restarts a child that dies, stops its children gracefully on
SIGTERM, gives up with one line when a child keeps failing at start, and its children do not outlive it.

The supervisor runs as its own process, as an operator runs it, over small children that speak the same pipe
protocol as a serving process (``SupervisedChild``) and write what happened to them in a file; the real
``logistics serve --processes N`` on PostgreSQL is exercised in ``tests/multi``. On SQLite more than one
process is refused before anything starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.process import REPO_ROOT, free_port, logistics_command, service_environment

WITHIN_S = 30.0

# A child as the supervisor sees a serving process: it says it listens, stops on SIGTERM or when the
# supervisor is gone, and notes each of these in the journal. "fail" exits before it listens.
CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from logistics.processes import SupervisedChild

    mode, journal, supervised = sys.argv[1], sys.argv[2], sys.argv[-1]

    def note(event):
        with open(journal, "a") as out:
            out.write(f"{os.getpid()} {event}\\n")

    async def main():
        child, port = SupervisedChild.parse(supervised)
        note("started")
        note(f"port {port}")
        if mode == "fail":
            sys.exit(3)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: (note("SIGTERM"), stopped.set()))
        loop.add_signal_handler(signal.SIGHUP, lambda: note("SIGHUP"))
        child.watch_parent(lambda: (note("orphaned"), stopped.set()))
        child.listening()
        await stopped.wait()
        note("stopped")

    asyncio.run(main())
    """
)

PARENT = textwrap.dedent(
    """
    import asyncio, logging, sys
    from logistics.processes import Supervisor

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    count, port, child = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    supervisor = Supervisor(child, count, port=port, max_start_failures=3, max_backoff_s=0.2)
    sys.exit(asyncio.run(supervisor.run(f"serving on port {port}")))
    """
)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self) -> list[tuple[int, str]]:
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        return [(int(pid), event) for pid, _, event in (line.partition(" ") for line in lines)]

    def pids(self, event: str) -> list[int]:
        return [pid for pid, what in self.events() if what == event]


def _wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {WITHIN_S} s; supervisor output:\n{log.read_text()}")
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but is not reaped yet is a zombie: it serves nothing.
    with suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@contextmanager
def supervisor(
    tmp_path: Path, count: int, mode: str = "serve"
) -> Iterator[tuple[subprocess.Popen[bytes], Journal, Path]]:
    journal = Journal(tmp_path / "journal.txt")
    log = tmp_path / "supervisor.log"
    child = [sys.executable, "-c", CHILD, mode, str(journal.path)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", PARENT, str(count), str(free_port()), *child],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, journal, log
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        for pid in journal.pids("started"):  # children that would have outlived the test
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_child_that_dies_is_replaced_sighup_reaches_every_child_and_sigterm_stops_them_gracefully(
    tmp_path: Path,
) -> None:
    with supervisor(tmp_path, 3) as (parent, journal, log):
        _wait_for(lambda: b"serving on port" in log.read_bytes(), "serving on", log)
        first = journal.pids("started")
        assert len(first) == 3
        assert len({event for _, event in journal.events() if event.startswith("port ")}) == 1, (
            "every child is given the same port to share"
        )

        os.kill(first[1], signal.SIGKILL)
        _wait_for(lambda: len(journal.pids("started")) == 4, "a fourth child started in the dead one's place", log)
        assert b"killed by SIGKILL" in log.read_bytes()
        replacement = journal.pids("started")[3]
        _wait_for(lambda: f"process {replacement} serving".encode() in log.read_bytes(), "the replacement ready", log)
        assert _alive(replacement)

        serving = [first[0], first[2], replacement]
        parent.send_signal(signal.SIGHUP)  # a coverage reload, for every serving process
        _wait_for(lambda: sorted(journal.pids("SIGHUP")) == sorted(serving), "SIGHUP forwarded to each child", log)

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=WITHIN_S) == 0, log.read_text()
        assert sorted(journal.pids("SIGTERM")) == sorted(serving)
        assert sorted(journal.pids("stopped")) == sorted(serving), "each child finished on its own terms"
        assert not any(_alive(pid) for pid in serving)


def test_children_stop_by_themselves_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    with supervisor(tmp_path, 2) as (parent, journal, log):
        _wait_for(lambda: b"serving on port" in log.read_bytes(), "serving on", log)
        children = journal.pids("started")
        parent.kill()  # the supervisor alone, not its process group
        parent.wait(timeout=WITHIN_S)
        _wait_for(lambda: sorted(journal.pids("stopped")) == sorted(children), "both children stopped", log)
        assert sorted(journal.pids("orphaned")) == sorted(children)
        _wait_for(lambda: not any(_alive(pid) for pid in children), "both children gone", log)


def test_a_child_that_keeps_failing_at_start_stops_the_supervisor_with_one_line(tmp_path: Path) -> None:
    with supervisor(tmp_path, 2, mode="fail") as (parent, journal, log):
        assert parent.wait(timeout=WITHIN_S) == 2
        output = log.read_text()
        assert "failed to start 3 times in a row (last: exit status 3)" in output, output
        assert "serving on" not in output
        assert "Traceback" not in output
        assert len(journal.pids("started")) >= 3


def serve_with_processes(env: dict[str, str], count: str) -> subprocess.CompletedProcess[str]:
    """``logistics serve --processes <count>`` run to its end (for starts refused before serving)."""
    return subprocess.run(
        logistics_command("serve", "--processes", count),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_more_than_one_process_on_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    done = serve_with_processes(service_environment(tmp_path, free_port()), "2")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "logistics: --processes needs the PostgreSQL store (database_url): the SQLite store takes one serving "
        "process, whose in-process group commit assumes it is the only writer"
    ], done.stderr
    assert "serving on" not in done.stdout
    assert not (tmp_path / "logistics.db").exists(), "refused before the database was touched"


def test_the_process_count_is_a_positive_number(tmp_path: Path) -> None:
    env = service_environment(tmp_path, free_port())
    for value in ("0", "two", "-1"):
        done = serve_with_processes(env, value)
        assert done.returncode == 2
        assert "--processes" in done.stderr
        assert "Traceback" not in done.stderr
