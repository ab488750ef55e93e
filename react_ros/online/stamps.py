"""Input stamps checked before they are trusted (no ROS imports; used by the reaction node per input stream).

Stamps come from other programs: drivers with unset or wrong clocks (1970, 2038), replays, restarts. A frame's
stamp is copied into the commands it causes and drives the end-to-end latency, so a garbage stamp must not
pass through:

- missing (0): the receive time is used; counted as `unstamped`, not as an error (the documented default),
- implausible (not finite, or further than `max_skew_s` from the receive time): the receive time is used
  and it counts as `bad_stamps` (the message itself is fine),
- out of order (earlier than the last accepted stamp) or duplicate (equal to it): dropped, `bad_stamps`;
  the generator is causal and a frame from the past cannot be answered in time.

`FrameGaps` estimates frames lost on the way from gaps in accepted camera stamps; a gap longer than
`pause_s` is a pause of the source (an input gap), not lost frames.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

UNSTAMPED, IMPLAUSIBLE, OUT_OF_ORDER, DUPLICATE = "unstamped", "implausible_stamp", "out_of_order", "duplicate_stamp"


@dataclass(frozen=True)
class StampCheck:
    stamp: float  # the stamp to use (seconds)
    problem: str = ""  # "" or one of UNSTAMPED, IMPLAUSIBLE, OUT_OF_ORDER, DUPLICATE
    usable: bool = True  # False: drop the message

    @property
    def bad(self) -> bool:
        """Counts as `bad_stamps` in diagnostics."""
        return self.problem in (IMPLAUSIBLE, OUT_OF_ORDER, DUPLICATE)


class StampChecker:
    """The stamps of one input stream, in arrival order."""

    def __init__(self, max_skew_s: float = 10.0) -> None:
        self.max_skew_s = float(max_skew_s)  # math.inf: accept any finite clock (e.g. replays in sim time)
        self.last: float | None = None

    def reset(self) -> None:
        self.last = None

    def check(self, stamp: float, received: float) -> StampCheck:
        problem = ""
        if stamp == 0.0:
            stamp, problem = received, UNSTAMPED
        elif not math.isfinite(stamp) or abs(stamp - received) > self.max_skew_s:
            stamp, problem = received, IMPLAUSIBLE
        if self.last is not None and stamp <= self.last:
            if problem:  # a substituted receive time behind accepted stamps: the clocks disagree, keep order
                stamp = math.nextafter(self.last, math.inf)
            else:
                return StampCheck(stamp, DUPLICATE if stamp == self.last else OUT_OF_ORDER, usable=False)
        self.last = stamp
        return StampCheck(stamp, problem)


class FrameGaps:
    """Frames lost between accepted camera stamps: a gap of more than 1.8 median intervals counts
    round(gap / interval) - 1 frames; gaps longer than `pause_s` are pauses (counted in `pauses`)."""

    def __init__(self, pause_s: float = 0.5, history: int = 31) -> None:
        self.pause_s = float(pause_s)
        self._stamps: deque[float] = deque(maxlen=history)
        self.pauses = 0

    def reset(self) -> None:
        self._stamps.clear()

    def add(self, stamp: float) -> int:
        """An accepted (increasing) stamp -> frames estimated lost just before it."""
        missed = 0
        if self._stamps and stamp - self._stamps[-1] > self.pause_s:
            self.pauses += 1
            self._stamps.clear()  # the source may come back at another rate
        elif len(self._stamps) >= 5:
            stamps = list(self._stamps)
            ordered = sorted(b - a for a, b in zip(stamps[:-1], stamps[1:], strict=True))
            interval = ordered[len(ordered) // 2]
            gap = stamp - self._stamps[-1]
            if interval > 0 and gap > 1.8 * interval:
                missed = int(round(gap / interval)) - 1
        self._stamps.append(stamp)
        return missed
