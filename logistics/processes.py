"""``logistics serve --processes N``: N serving processes on one host, one port, and a parent that watches them.

Each child is an ordinary ``logistics serve`` process with its own event loop, database connections and
workers; they share the listening port through ``SO_REUSEPORT``, so the kernel spreads new connections over
them and one host's cores are all used. The store must take several writers at once (PostgreSQL): the CLI
refuses more than one process on SQLite before anything starts.

The parent (``Supervisor``) serves no request. It:

- holds the port: it binds ``host:port`` with ``SO_REUSEPORT`` before starting any child (a port in use
  fails once, in the parent, with one line), keeps that socket bound but never listening (the kernel gives
  connections only to listening sockets), and hands the children the port it got (so ``port: 0`` works);
- starts the children and waits for each to say it listens, through a pipe (``--supervised``); it prints
  "serving on" once all of them do, and logs which pid serves in which slot;
- restarts a child that dies, at once the first time and with a growing pause while it keeps dying soon
  after starting;
- gives up when a slot fails to start ``max_start_failures`` times in a row (a child that exits before it
  listens): it stops the others and exits with 2, naming the slot and the last exit status;
- forwards SIGTERM and SIGINT as SIGTERM (each child finishes its requests in flight and stops), waits
  ``stop_timeout_s`` and then kills what is left; forwards SIGHUP (coverage reload) to every child that
  listens (one still starting loads the coverage as it is anyway).

A child also holds the read end of a "lifeline" pipe whose write end only the parent has: when the parent
dies, however it dies, the pipe reads end-of-file and the child stops gracefully instead of serving on
unsupervised.

What this module must not do: read settings or open the database (the CLI has checked both before it
calls ``Supervisor.run``), or serve requests itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

EXIT_START_FAILED = 2
SUPERVISED_FLAG = "--supervised"


class PortUnavailable(Exception):
    """The parent could not bind the port the children are to share."""


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening: it keeps the port for the children
    (and picks one when ``port`` is 0) without ever being given a connection."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PortUnavailable(f"host {host}, port {port}: cannot listen: {exc.strerror or exc}") from None
    return sock


@dataclass
class Slot:
    """One of the N places a serving process fills; a restarted child takes its predecessor's slot."""

    number: int
    process: asyncio.subprocess.Process | None = None
    ready: bool = False
    started_at: float = 0.0
    ready_at: float = 0.0
    start_failures: int = 0  # in a row: children of this slot that exited before they listened
    quick_deaths: int = 0  # in a row: children that died soon after they listened
    lifeline: int | None = None  # the write end of the child's lifeline pipe
    restarts: int = 0
    pids: list[int] = field(default_factory=list)


class StartFailed(Exception):
    """A slot's children keep exiting before they listen."""


class Supervisor:
    """Runs ``count`` copies of ``command`` and keeps them running until a signal (see the module docstring).

    ``command`` is the child's command line without the ``--supervised`` argument, which the supervisor adds
    with the descriptors of the child's two pipes and ``port``, the port the children share.
    """

    def __init__(
        self,
        command: Sequence[str],
        count: int,
        *,
        port: int,
        max_start_failures: int = 3,
        start_timeout_s: float = 120.0,
        stop_timeout_s: float = 30.0,
        steady_after_s: float = 30.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._command = list(command)
        self._port = port
        self._max_start_failures = max_start_failures
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._steady_after_s = steady_after_s
        self._max_backoff_s = max_backoff_s
        self.slots = [Slot(number) for number in range(1, count + 1)]
        self._stopping = asyncio.Event()
        self._failure: str | None = None
        self._all_ready_announced = False

    def pids(self) -> list[int]:
        """The pids of the children alive now, by slot."""
        return [s.process.pid for s in self.slots if s.process is not None and s.process.returncode is None]

    async def run(self, serving_line: str) -> int:
        """Start every child and supervise them until a signal; the exit code (0, or 2 when children keep
        failing at start). ``serving_line`` is printed once every slot listens."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self._forward, signal.SIGHUP)
        watchers = [asyncio.create_task(self._keep(slot, serving_line)) for slot in self.slots]
        try:
            await self._stopping.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            await self._stop_children()
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        if self._failure is not None:
            print(f"logistics: {self._failure}", file=sys.stderr, flush=True)
            return EXIT_START_FAILED
        return 0

    def stop(self) -> None:
        """Stop every child gracefully (what SIGTERM and SIGINT do)."""
        if not self._stopping.is_set():
            logger.info("stopping: asking %d serving process(es) to finish their requests", len(self.pids()))
        self._stopping.set()

    def _forward(self, sig: signal.Signals) -> None:
        # Only to processes that listen: one still starting has not set its handler yet (the signal would end
        # it), and it loads the coverage as it is now anyway.
        for slot in self.slots:
            if slot.ready and slot.process is not None and slot.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(sig)

    async def _keep(self, slot: Slot, serving_line: str) -> None:
        """Keep a child running in ``slot`` until the supervisor stops."""
        while not self._stopping.is_set():
            pause = self._pause_before_start(slot)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                if self._stopping.is_set():
                    return
            try:
                ready = await self._start(slot)
            except OSError as exc:
                ready = False
                logger.error("slot %d: cannot start a serving process: %s", slot.number, exc)
            if self._stopping.is_set():
                return
            if not ready:
                slot.start_failures += 1
                timed_out = slot.process is not None and slot.process.returncode is None
                await self._reap(slot)
                status = _describe_exit(slot.process.returncode if slot.process else None)
                if slot.start_failures >= self._max_start_failures:
                    self._failure = (
                        f"--processes: slot {slot.number}'s serving process failed to start "
                        f"{slot.start_failures} times in a row (last: {status}); stopping the others. "
                        "Its own message is in the output above."
                    )
                    self._stopping.set()
                    return
                logger.warning(
                    "slot %d: the serving process %s before it listened (%s); trying again (%d of %d)",
                    slot.number,
                    "did not listen in time and was killed" if timed_out else "exited",
                    status,
                    slot.start_failures,
                    self._max_start_failures,
                )
                continue
            slot.start_failures = 0
            if not self._all_ready_announced and all(s.ready for s in self.slots):
                self._all_ready_announced = True
                print(f"{serving_line} with {len(self.slots)} processes (pids {_pids(self.pids())})", flush=True)
            assert slot.process is not None
            code = await slot.process.wait()
            served_s = time.monotonic() - slot.ready_at
            self._close_lifeline(slot)
            if self._stopping.is_set():
                return
            slot.quick_deaths = slot.quick_deaths + 1 if served_s < self._steady_after_s else 0
            slot.restarts += 1
            logger.warning(
                "slot %d: serving process %d %s after %.1f s; starting another",
                slot.number,
                slot.process.pid,
                _describe_exit(code),
                served_s,
            )
            slot.ready = False

    def _pause_before_start(self, slot: Slot) -> float:
        failures = max(slot.quick_deaths, slot.start_failures)
        if failures == 0:
            return 0.0
        return float(min(self._max_backoff_s, 0.25 * 2 ** (failures - 1)))

    async def _start(self, slot: Slot) -> bool:
        """Start a child in ``slot``; True once it says it listens, False if it exits or times out first."""
        ready_read, ready_write = os.pipe()
        lifeline_read, lifeline_write = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *self._command,
                SUPERVISED_FLAG,
                f"{ready_write},{lifeline_read},{self._port}",
                pass_fds=(ready_write, lifeline_read),
            )
        except BaseException:
            for fd in (ready_read, lifeline_write):
                os.close(fd)
            raise
        finally:
            os.close(ready_write)
            os.close(lifeline_read)
        slot.process = process
        slot.lifeline = lifeline_write
        slot.started_at = time.monotonic()
        slot.pids.append(process.pid)
        try:
            said = await self._read_ready(ready_read, process)
        finally:
            os.close(ready_read)
        if said and process.returncode is None:
            slot.ready = True
            slot.ready_at = time.monotonic()
            logger.info(
                "slot %d: process %d serving (started in %.2f s)",
                slot.number,
                process.pid,
                slot.ready_at - slot.started_at,
            )
            return True
        return False

    async def _read_ready(self, fd: int, process: asyncio.subprocess.Process) -> bool:
        """Wait for the child's "listening" line on its ready pipe: end-of-file (it exited, or closed the pipe
        without a word), a timeout or a stop mean it is not serving."""
        loop = asyncio.get_running_loop()
        said: asyncio.Future[bool] = loop.create_future()
        received = bytearray()

        def readable() -> None:
            chunk = _read_available(fd)
            if chunk is None:
                return
            received.extend(chunk)
            if (not chunk or b"\n" in received) and not said.done():
                said.set_result(b"\n" in received)

        os.set_blocking(fd, False)
        loop.add_reader(fd, readable)
        stopping: asyncio.Future[bool] = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {said, stopping}, timeout=self._start_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if said in done:
                return said.result()
            return False
        finally:
            loop.remove_reader(fd)
            stopping.cancel()
            if not said.done():
                said.cancel()

    async def _reap(self, slot: Slot) -> None:
        """Make sure ``slot``'s child is gone (one that did not start in time is killed)."""
        process = slot.process
        self._close_lifeline(slot)
        if process is None:
            return
        if process.returncode is None:
            # It closed its ready pipe because it is exiting, or it did not listen in time.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), 5.0)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()

    def _close_lifeline(self, slot: Slot) -> None:
        if slot.lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(slot.lifeline)
            slot.lifeline = None

    async def _stop_children(self) -> None:
        """SIGTERM to every child, then SIGKILL to those still there after ``stop_timeout_s``."""
        alive = [s.process for s in self.slots if s.process is not None and s.process.returncode is None]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if alive:
            waiting = asyncio.gather(*(p.wait() for p in alive))
            try:
                await asyncio.wait_for(asyncio.shield(waiting), self._stop_timeout_s)
            except TimeoutError:
                late = [p for p in alive if p.returncode is None]
                logger.warning(
                    "stopping: %d serving process(es) still running after %.0f s: killing %s",
                    len(late),
                    self._stop_timeout_s,
                    _pids(p.pid for p in late),
                )
                for process in late:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                await waiting
        for slot in self.slots:
            self._close_lifeline(slot)


def _pids(pids: Iterable[int]) -> str:
    return ", ".join(str(pid) for pid in pids)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class SupervisedChild:
    """The child's side of the two pipes: tell the parent it listens; stop when the parent is gone."""

    def __init__(self, ready_fd: int, lifeline_fd: int) -> None:
        self._ready_fd: int | None = ready_fd
        self._lifeline_fd = lifeline_fd

    @classmethod
    def parse(cls, value: str) -> tuple[SupervisedChild, int]:
        """From ``--supervised READY,LIFELINE,PORT`` (two inherited descriptors and the port to share)."""
        try:
            ready, lifeline, port = (int(part) for part in value.split(","))
        except ValueError:
            raise SystemExit(f"logistics: {SUPERVISED_FLAG} takes READY,LIFELINE,PORT; got {value!r}") from None
        return cls(ready, lifeline), port

    def listening(self) -> None:
        """Tell the parent this process listens; once."""
        if self._ready_fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._ready_fd, f"{os.getpid()}\n".encode())
            os.close(self._ready_fd)
        self._ready_fd = None

    def watch_parent(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` when the parent's end of the lifeline closes (the parent exited or was killed)."""
        loop = asyncio.get_running_loop()
        fd = self._lifeline_fd
        os.set_blocking(fd, False)

        def readable() -> None:
            chunk = _read_available(fd)
            if chunk is None:
                return
            if not chunk:
                loop.remove_reader(fd)
                logger.warning("the supervising process is gone: stopping")
                stop()

        loop.add_reader(fd, readable)


def child_command() -> list[str]:
    """The command line that starts one serving process of this installation."""
    return [sys.executable, "-m", "logistics", "serve"]


def _read_available(fd: int) -> bytes | None:
    """What a non-blocking pipe holds now: ``b""`` at its end (or when it fails), None when nothing came yet."""
    try:
        return os.read(fd, 64)
    except BlockingIOError:
        return None
    except OSError:
        return b""
