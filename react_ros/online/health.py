"""What /diagnostics reports, as plain numbers (no ROS imports): latency percentiles over a recent window and
a level that follows the current state of the input, not its history.

- `LatencyWindow`: the last `seconds` of one stage's latencies (at most `size`); percentiles describe now,
  so an outlier leaves the window instead of holding p99 up forever. Non-finite or negative values (a clock
  jump, a garbage stamp) are counted in `rejected`, never added.
- `HealthLevel`: OK / WARN / ERROR (diagnostic_msgs' numbers) from what happened since the previous report:
  WARN while the input is stale or bad messages arrived in the last `hold` reports, back to OK after that;
  ERROR while the node cannot work (not configured, backend failed), with the reason.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


class LatencyWindow:
    def __init__(self, seconds: float = 10.0, size: int = 1000) -> None:
        self.seconds = float(seconds)
        self._samples: deque[tuple[float, float]] = deque(maxlen=size)  # (time added, latency s)
        self.rejected = 0

    def add(self, latency_s: float, now: float) -> bool:
        if not math.isfinite(latency_s) or latency_s < 0:
            self.rejected += 1
            return False
        self._samples.append((now, float(latency_s)))
        return True

    def values(self, now: float) -> np.ndarray:
        while self._samples and self._samples[0][0] < now - self.seconds:
            self._samples.popleft()
        return np.array([value for _, value in self._samples], np.float64)

    def summary_ms(self, now: float) -> dict[str, float]:
        """{'median': ms, 'p99': ms, 'count': n} over the window (NaN when empty)."""
        values = self.values(now)
        if values.size == 0:
            return {"median": math.nan, "p99": math.nan, "count": 0}
        return {"median": float(np.median(values)) * 1e3, "p99": float(np.percentile(values, 99)) * 1e3,
                "count": int(values.size)}


class HealthLevel:
    def __init__(self, bad_counters: Iterable[str], hold: int = 1) -> None:
        self.bad_counters = tuple(bad_counters)  # counters whose increase means bad input (e.g. bad_images)
        self.hold = int(hold)
        self._previous: dict[str, int] = {}
        self._quiet = self.hold  # reports since bad input was last seen

    def update(self, counters: Mapping[str, int], stale: bool = False, error: str = "") -> tuple[int, str]:
        """(level, message) for this report; `counters` are running totals."""
        new = {key: int(counters.get(key, 0)) - self._previous.get(key, 0) for key in self.bad_counters}
        self._previous = {key: int(counters.get(key, 0)) for key in self.bad_counters}
        seen = {key: n for key, n in new.items() if n > 0}
        self._quiet = 0 if seen else self._quiet + 1
        if error:
            return ERROR, error
        if stale:
            return WARN, "no input"
        if seen:
            return WARN, "bad input: " + ", ".join(f"{key} +{n}" for key, n in seen.items())
        if self._quiet < self.hold:
            return WARN, "bad input recently"
        return OK, "reacting"
