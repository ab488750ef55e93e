"""Ratios that repeat: interleaved rounds, a median with its spread, and a verdict the spread decides.

Timing two backends one after the other compares two moments of the machine: a load that comes or goes between
them moves their ratio (two runs on one machine gave int8_cpu 1.4x then 0.86x). Interleaving times every
contender in each round (in an order that rotates), in the CPU time the process spent (which other processes'
load does not inflate), so a round's ratio compares like with like; the spread of
the per-round ratios says how much the machine moved, and a target is missed only when the whole spread misses
it."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from react_ros.bench.timing import measure

# A round's time is the CPU time this process spent per call (median over the round). Another process's load
# takes wall time from a contender, not CPU time: under a load average of 13 on 2 cores even the fastest wall-clock
# calls of a 4 ms window were preempted, and wall-clock ratios moved by 10x between runs. With one inference
# thread (the default) the work runs on the calling thread, and nothing else runs in the measuring process.
CLOCK = time.process_time


def round_time(times: list[float]) -> float:
    """One round's seconds per call: the median of its calls' CPU times."""
    return float(np.median(times))


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int, budget_s: float,
                min_n: int = 5) -> dict[str, list[float]]:
    """{name: [seconds of one call (round_time), per round]}: each round runs every contender for `budget_s`, in an
    order rotated by one each round (so no contender always follows the same one)."""
    if rounds < 1 or not contenders:
        raise ValueError(f"need at least one round and one contender (rounds={rounds}, {len(contenders)} contenders)")
    names = list(contenders)
    out: dict[str, list[float]] = {name: [] for name in names}
    for k in range(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:
            out[name].append(round_time(measure(contenders[name], budget_s, min_n=min_n, warmup=1, clock=CLOCK)))
    return out


def spread(values: list[float], digits: int = 4) -> dict:
    """Median, min and max of per-round values (and the values)."""
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {"median": round(float(np.median(values)), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "n": len(values), "values": [round(v, digits) for v in values]}


def per_round_ratios(times: dict[str, list[float]], numerator: str, denominator: str) -> dict:
    """The spread of times[numerator][k] / times[denominator][k] over the rounds k (same round, same machine)."""
    return spread([a / b for a, b in zip(times[numerator], times[denominator], strict=True) if b > 0])


def verdict(stat: dict | None, low: float = -math.inf, high: float = math.inf) -> bool | None | str:
    """True when the whole spread [min, max] lies in the goal [low, high], False when it lies wholly outside,
    "unclear" when it straddles a bound, None when nothing was measured."""
    if not stat or stat.get("min") is None:
        return None
    lo, hi = stat["min"], stat["max"]
    if low <= lo and hi <= high:
        return True
    if hi < low or lo > high:
        return False
    return "unclear"


def timed_rounds(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Like `interleaved`, for contenders that time themselves: each call returns one round's seconds."""
    names = list(contenders)
    out: dict[str, list[float]] = {name: [] for name in names}
    for k in range(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:
            out[name].append(float(contenders[name]()))
    return out
