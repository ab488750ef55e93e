"""Clocks: repeated timing with a time budget, process CPU time and memory (median/p99 summaries:
`react_ros.online.latency.summary_ms`)."""
from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable


def measure(fn: Callable[[], object], budget_s: float = 0.5, min_n: int = 10, max_n: int = 2000,
            warmup: int = 3, clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Run `fn` until `budget_s` of wall time has passed (at least min_n, at most max_n times) after `warmup` runs;
    seconds per call on `clock` (wall time by default; time.process_time for the CPU time this process spent)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    stop = time.perf_counter() + budget_s
    while len(times) < max_n and (len(times) < min_n or time.perf_counter() < stop):
        start = clock()
        fn()
        times.append(clock() - start)
    return times



def rss_mb() -> float:
    """Current resident set size of this process (MB), from /proc (Linux) or the peak elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB): VmHWM of /proc/self/status on Linux (getrusage's
    ru_maxrss survives exec, so a spawned child would report its parent's peak), ru_maxrss elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class CpuMeter:
    """Process CPU time (user + system, all threads) over wall time between start() and stop()."""

    def start(self) -> CpuMeter:
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def stop(self) -> dict:
        cpu, wall = time.process_time() - self._cpu, time.perf_counter() - self._wall
        return {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "cpu_per_wall": round(cpu / wall, 3) if wall else None}
