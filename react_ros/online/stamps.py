"""Input stamps checked before they are trusted (no ROS imports; used by the reaction node per input stream).

Stamps come from other programs: drivers with unset or wrong clocks (1970, 2038), replays, restarts. A frame's
stamp is copied into the commands it causes and drives the end-to-end latency, so a garbage stamp must not
pass through:

- missing (0): the receive time is used; counted as `unstamped`, not as an error (the documented default),
- implausible (not finite, or further than `max_skew_s` from the receive time): the receive time is used
  and it counts as `bad_stamps` (the message itself is fine),
- out of order (earlier than the last accepted sender stamp) or duplicate (equal to it): dropped,
  `bad_stamps`; the generator is causal and a frame from the past cannot be answered in time. A substituted
  receive time is not a sender stamp: the valid frame after it is judged against the last valid one.

`FrameGaps` estimates frames lost on the way from gaps in accepted camera stamps; a gap longer than
`pause_s` is a pause of the source (an input gap), not lost frames, unless the receiver itself was busy
for most of it (a stalled generator: the frames were sent and dropped by the keep-last queue).
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
        if stamp == 0.0:
            return StampCheck(self._substitute(received), UNSTAMPED)
        if not math.isfinite(stamp) or abs(stamp - received) > self.max_skew_s:
            return StampCheck(self._substitute(received), IMPLAUSIBLE)
        if self.last is not None and stamp <= self.last:
            return StampCheck(stamp, DUPLICATE if stamp == self.last else OUT_OF_ORDER, usable=False)
        self.last = stamp
        return StampCheck(stamp)

    def _substitute(self, received: float) -> float:
        """The receive time, kept after the last sender stamp; it does not become `last`: the next valid frame
        was captured before this message arrived whenever transport takes longer than a frame interval, and
        must not be dropped as out of order."""
        return received if self.last is None or received > self.last else math.nextafter(self.last, math.inf)


class FrameGaps:
    """Frames lost between accepted camera stamps: a gap of more than 1.8 median intervals counts
    round(gap / interval) - 1 frames; gaps longer than `pause_s` are pauses (counted in `pauses`)."""

    def __init__(self, pause_s: float = 0.5, history: int = 31) -> None:
        self.pause_s = float(pause_s)
        self._stamps: deque[float] = deque(maxlen=history)
        self.pauses = 0

    def reset(self) -> None:
        self._stamps.clear()

    def add(self, stamp: float, busy_s: float = 0.0) -> int:
        """An accepted (increasing) stamp -> frames estimated lost just before it. busy_s: how long the receiver
        was busy with the previous frame (that part of a gap is not the source pausing)."""
        missed = 0
        if self._stamps and stamp - self._stamps[-1] - max(busy_s, 0.0) > self.pause_s:
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
