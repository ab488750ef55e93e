"""Motion safety between the generator and the actuators: smoothing, velocity and position limits, a watchdog.

`MotionController.update(reaction, now)` maps a reaction frame through the profile and moves the joints
toward it; `tick(now)` is called on a timer and, when no reaction has arrived for `stale_after_s` (camera
gone, generator stalled), moves the joints toward the profile's neutral pose instead. Every step:

1. exponential smoothing toward the target with time constant `smoothing_s` (filters the frame-to-frame
   noise of sampled reactions; at 30 fps and 0.06 s it keeps about 43 % of each step),
2. velocity clamp: no joint moves faster than its `max_velocity` (the step is at most max_velocity * dt,
   and dt is capped at `max_dt_s`, so a long pause never licenses a jump),
3. position clamp to [min, max].

So the commanded face never jumps, whatever arrives (NaN, a burst after a gap, a new session) and eases
to neutral when input stops. `ease_to_neutral(now)` gives the sequence of steps used at shutdown.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from react_ros.robot.profile import RobotProfile

__all__ = ["MotionConfig", "MotionController"]


@dataclass(frozen=True)
class MotionConfig:
    smoothing_s: float = 0.06  # time constant of the exponential smoothing (0 = none)
    stale_after_s: float = 0.15  # no reaction for this long -> ease to neutral (velocity-limited, unsmoothed)
    max_dt_s: float = 0.1  # longest step credited to the velocity limit


class MotionController:
    def __init__(self, profile: RobotProfile, config: MotionConfig = MotionConfig()) -> None:
        self.profile = profile
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.positions = self.profile.neutral.copy()
        self.velocities = np.zeros_like(self.positions)
        self.target = self.profile.neutral.copy()
        self.last_step: float | None = None
        self.last_input: float | None = None
        self.stale = True  # no input yet

    @property
    def names(self) -> list[str]:
        return self.profile.names

    def update(self, reaction: np.ndarray, now: float) -> np.ndarray:
        """A new reaction frame at time `now` (s, monotonic): step toward its mapped pose."""
        self.target = self.profile.map(reaction)
        self.last_input = now
        self.stale = False
        return self._step(now)

    def tick(self, now: float) -> np.ndarray:
        """Watchdog step: keep moving toward the target, or toward neutral when input is stale."""
        if self.last_input is None or now - self.last_input > self.config.stale_after_s:
            self.stale = True
            self.target = self.profile.neutral.copy()
            # Straight to neutral at the velocity limits: smoothing would only approach it asymptotically.
            return self._step(now, smooth=False)
        return self._step(now)

    def is_stale(self, now: float) -> bool:
        return self.last_input is None or now - self.last_input > self.config.stale_after_s

    def at_neutral(self, tolerance: float = 1e-3) -> bool:
        return bool(np.all(np.abs(self.positions - self.profile.neutral) <= tolerance))

    def ease_to_neutral(self, now: float, rate_hz: float = 50.0, max_s: float = 2.0) -> Iterator[np.ndarray]:
        """Positions, one per 1/rate_hz s, from here to neutral within the velocity limits (at most max_s)."""
        self.target = self.profile.neutral.copy()
        self.stale = True
        self.last_input = None
        steps = int(max_s * rate_hz)
        for i in range(1, steps + 1):
            positions = self._step(now + i / rate_hz, smooth=False)
            yield positions
            if self.at_neutral():
                return

    def _step(self, now: float, smooth: bool = True) -> np.ndarray:
        dt = 0.0 if self.last_step is None else now - self.last_step
        dt = min(max(dt, 0.0), self.config.max_dt_s)
        self.last_step = now if self.last_step is None else max(now, self.last_step)
        target = np.where(np.isfinite(self.target), self.target, self.profile.neutral)
        desired = target
        tau = self.config.smoothing_s
        if smooth and tau > 0:
            alpha = 1.0 - math.exp(-dt / tau) if dt > 0 else 0.0
            desired = self.positions + alpha * (target - self.positions)
        step = np.clip(desired - self.positions, -self.profile.max_velocity * dt, self.profile.max_velocity * dt)
        new = np.clip(self.positions + step, self.profile.lower, self.profile.upper)
        self.velocities = (new - self.positions) / dt if dt > 0 else np.zeros_like(new)
        self.positions = new
        return new.copy()
