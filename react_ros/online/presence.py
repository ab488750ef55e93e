"""Is the speaker there? Presence as a state of the session, and what the robot shows for each state.

    present  a speaker face is measured: the robot shows the reaction source's output.
    lost     the face went away less than `grace_s` ago (a blink of the detector, a turned head, a hand): the
             robot keeps showing the source's output, so a short miss does not flicker the face.
    absent   no face for `grace_s` or longer (or none since the start): the robot eases to an attentive neutral
             (the neutral frame: no smile, no frown, no drift) within `ease_s`, and the model's speaker context
             is reset once on entering (the next person is not answered with the last person's mood).

A face that appears while absent makes the state present again after `confirm_s` of face frames (a one-frame
false detection does not wake the robot), and the robot eases back to the source's output within `ease_s`:
back to reacting well within a second of a face. A new speaker (the front end's track changes) resets the
context like a new person, without a neutral pause.

Time is the frames' stamps, not the wall clock, so a clip played fast behaves as it would in real time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from react_ros import schema

__all__ = ["PRESENT", "LOST", "ABSENT", "PresenceConfig", "PresenceStep", "Presence"]

PRESENT, LOST, ABSENT = "present", "lost", "absent"


@dataclass(frozen=True)
class PresenceConfig:
    grace_s: float = 0.4  # a face gone this long makes the state absent (inf: never absent)
    confirm_s: float = 0.1  # face frames for this long make an absent state present again (3 frames at 30 fps)
    ease_s: float = 0.3  # the blend between the source's output and the attentive neutral takes this long

    def __post_init__(self) -> None:
        for name in ("grace_s", "confirm_s", "ease_s"):
            value = getattr(self, name)
            if not (value >= 0) or math.isnan(value):
                raise ValueError(f"PresenceConfig.{name} must be >= 0 seconds, got {value!r}")


@dataclass(frozen=True)
class PresenceStep:
    state: str  # present | lost | absent
    reason: str  # why: "face", or the front end's reason the face is missing (no_face, occluded, turned, ...)
    reaction: np.ndarray  # (25,) what the robot shows for this frame
    reset_context: bool  # reset the reaction source's speaker context now (entered absent, or a new speaker)


class Presence:
    def __init__(self, config: PresenceConfig = PresenceConfig()) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """A fresh session: nobody there yet (absent, already fully neutral)."""
        self.state, self.reason = ABSENT, "start"
        self.neutral_weight = 1.0  # 1: the robot shows the attentive neutral, 0: the source's output
        self._changed: float | None = None  # stamp the face was last lost (lost) or first seen again (absent)
        self._last_stamp: float | None = None
        self._speaker: object = None

    def update(self, stamp: float, face_present: bool, reaction: np.ndarray, reason: str = "",
               speaker: object = None) -> PresenceStep:
        """One camera frame (its stamp, whether the speaker's face was measured, the source's reaction; `reason`:
        why the face is missing; `speaker`: the front end's speaker track, a change means a new person)."""
        step = 0.0 if self._last_stamp is None else max(0.0, stamp - self._last_stamp)
        self._last_stamp = stamp
        reset = False
        if face_present:
            if self.state == ABSENT:
                self._changed = stamp if self._changed is None else self._changed
                if stamp - self._changed + step >= self.config.confirm_s or self.config.confirm_s == 0:
                    self.state, self._changed = PRESENT, None
            else:
                self.state, self._changed = PRESENT, None
                if speaker is not None and self._speaker is not None and speaker != self._speaker:
                    reset = True  # another person took over: answer them, not the last one
            self.reason = "face"
            self._speaker = speaker if speaker is not None else self._speaker
        else:
            self.reason = reason or "no_face"
            if self.state == PRESENT:
                self.state, self._changed = LOST, stamp
            elif self.state == ABSENT:
                self._changed = None  # the face must be seen for confirm_s without a break
            if self.state == LOST and stamp - self._changed >= self.config.grace_s:
                self.state, self._changed, reset = ABSENT, None, True
                self._speaker = None
        target = 1.0 if self.state == ABSENT else 0.0
        rate = math.inf if self.config.ease_s == 0 else step / self.config.ease_s
        self.neutral_weight += float(np.clip(target - self.neutral_weight, -rate, rate))
        shown = np.asarray(reaction, np.float32)
        if self.neutral_weight > 0:
            shown = ((1.0 - self.neutral_weight) * shown + self.neutral_weight * schema.neutral_frame()).astype(
                np.float32)
        return PresenceStep(self.state, self.reason, shown, reset)
