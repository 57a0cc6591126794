"""The machine the benchmarks run on: how loaded it is, how fast it is, and how much of it was taken away.

Figures taken on a shared virtual machine drift: the same build's server CPU per create has been measured
2.5 times apart on two days. These helpers print what tells a slower host from slower code:

- ``machine_load()``: the load average, before and after a run;
- ``calibration()``: the CPU time of a fixed pure-Python workload, comparable between machines and days;
- ``CpuTimes.now()`` and ``cpu_shares(...)``: the share of CPU time the hypervisor took (steal)
  and the CPUs spent waiting for the disk (iowait) during a run, from ``/proc/stat`` (Linux only).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    cpus = os.cpu_count() or 1
    busy = " (busy: other work shares these CPUs, expect noisy latency)" if one > cpus else ""
    return f"load average {one:.1f} / {five:.1f} (1/5 min) on {cpus} CPUs{busy}"


def calibration() -> str:
    start = time.process_time()
    sum(range(10_000_000))
    return f"calibration: sum(range(10**7)) takes {time.process_time() - start:.3f} s CPU here"


@dataclass(frozen=True)
class CpuTimes:
    """The machine-wide CPU time counters of ``/proc/stat``, in clock ticks."""

    total: int
    iowait: int
    steal: int

    @classmethod
    def now(cls) -> CpuTimes | None:
        try:
            first = PROC_STAT.read_text().split("\n", 1)[0]
        except OSError:
            return None
        return cls.parse(first)

    @classmethod
    def parse(cls, line: str) -> CpuTimes | None:
        # cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
        fields = line.split()
        if len(fields) < 9 or fields[0] != "cpu":
            return None
        ticks = [int(value) for value in fields[1:9]]
        return cls(total=sum(ticks), iowait=ticks[4], steal=ticks[7])


def cpu_shares(before: CpuTimes | None, after: CpuTimes | None) -> str:
    """The share of all CPU time between two readings that the hypervisor stole and the disks kept waiting."""
    if before is None or after is None or after.total <= before.total:
        return "CPU time stolen by the hypervisor: not measured here"
    elapsed = after.total - before.total
    steal = 100 * (after.steal - before.steal) / elapsed
    iowait = 100 * (after.iowait - before.iowait) / elapsed
    return f"during the run, of all CPU time: {steal:.1f}% stolen by the hypervisor, {iowait:.1f}% in iowait"
