"""Latency statistics: a bounded record of durations per stage and their median/p99 summary (milliseconds)."""
from __future__ import annotations

from collections import deque

import numpy as np


def summary_ms(seconds) -> dict:
    """median, p99, mean, min, max (milliseconds) and n of a list of durations in seconds."""
    array = np.asarray(seconds, np.float64) * 1e3
    if array.size == 0:
        return {"median_ms": None, "p99_ms": None, "mean_ms": None, "min_ms": None, "max_ms": None, "n": 0}
    return {"median_ms": round(float(np.median(array)), 4), "p99_ms": round(float(np.percentile(array, 99)), 4),
            "mean_ms": round(float(array.mean()), 4), "min_ms": round(float(array.min()), 4),
            "max_ms": round(float(array.max()), 4), "n": int(array.size)}


class LatencyRecord:
    """The last `keep` durations (seconds) of each stage; old ones fall out so a long session stays bounded."""

    def __init__(self, keep: int = 20000) -> None:
        self.keep = keep
        self._stages: dict[str, deque] = {}

    def add(self, stage: str, seconds: float) -> None:
        self._stages.setdefault(stage, deque(maxlen=self.keep)).append(float(seconds))

    def samples(self) -> dict[str, list[float]]:
        return {stage: list(values) for stage, values in self._stages.items()}

    def summary(self) -> dict[str, dict]:
        return {stage: summary_ms(values) for stage, values in self._stages.items()}
