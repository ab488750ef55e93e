"""The watchdog on its own thread (no ROS): `ReactionSession.tick` every period, whatever the input callbacks
are doing.

A ROS timer in the node's executor cannot fire while that executor is inside a camera callback, and a camera
callback is where the generator runs: a stalled window (a slow inference call, a first-time import, a GPU
hiccup) then froze the face where it was. On its own thread the watchdog keeps commanding the face toward
neutral during the stall (the session's `tick` takes only the motion lock, never the source's).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["WatchdogThread"]


class WatchdogThread:
    def __init__(self, step: Callable[[], None], period_s: float,
                 wait: Callable[[threading.Event, float], bool] | None = None, name: str = "react_ros-watchdog") -> None:
        """step: called every `period_s` (exceptions are the caller's to catch: a raising step stops the thread);
        wait(stop, seconds) -> True to stop: the pause between steps (default stop.wait; tests pass a simulated
        clock's)."""
        if not period_s > 0:
            raise ValueError(f"watchdog period {period_s!r}: expected > 0 s")
        self.step, self.period_s = step, float(period_s)
        self._wait = wait or (lambda stop, seconds: stop.wait(seconds))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> WatchdogThread:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._wait(self._stop, self.period_s) and not self._stop.is_set():
            self.step()
