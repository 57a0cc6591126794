"""The benchmarks' reading of /proc/stat: the field order is the kernel's, and a wrong one would misreport steal."""

from __future__ import annotations

from tests.bench.host import CpuTimes, cpu_shares


def test_the_first_line_of_proc_stat_gives_total_iowait_and_steal() -> None:
    times = CpuTimes.parse("cpu  100 5 40 800 30 0 7 18 0 0")

    assert times == CpuTimes(total=1000, iowait=30, steal=18)


def test_lines_that_are_not_the_machine_wide_total_are_refused() -> None:
    assert CpuTimes.parse("cpu0 100 5 40 800 30 0 7 18 0 0") is None
    assert CpuTimes.parse("cpu  100 5 40") is None


def test_the_shares_are_of_the_ticks_that_passed_between_two_readings() -> None:
    before = CpuTimes(total=1000, iowait=30, steal=18)
    after = CpuTimes(total=3000, iowait=130, steal=118)

    assert cpu_shares(before, after) == (
        "during the run, of all CPU time: 5.0% stolen by the hypervisor, 5.0% in iowait"
    )
    assert cpu_shares(None, after) == "CPU time stolen by the hypervisor: not measured here"
    assert cpu_shares(before, None) == "CPU time stolen by the hypervisor: not measured here"
