"""Interpretable face controls and the map from a 25-d reaction frame to them.

`FaceParams` is what a renderer (or a robot profile driving servos / a screen face) consumes: a handful of
named controls with fixed ranges (`PARAM_RANGES`), so a profile can map e.g. `smile` to a mouth servo without
knowing anything about AUs.

The map (`face_params_from_reaction`) is documented and mostly linear: each control is its FACS action unit
plus small contributions from the expression probabilities and valence/arousal, then clipped to its range:

    brow_inner_raise   = AU1 + .5 Surprise + .5 Sad + .4 Fear
    brow_outer_raise   = AU2 + .6 Surprise + .2 Fear
    brow_lower         = AU4 + .6 Anger + .25 Disgust + .2 Sad + .2 Fear
    cheek_raise        = AU6 + .4 Happy
    lid_tighten        = AU7 + .3 Anger + .3 Disgust            (internal; lowers eye_open)
    eye_open           = (1 - .45 lid_tighten - .2 cheek_raise - .15 Sad + .25 widen) * (1 - blink)
                         with widen = (AU1 + AU2)/2 + .5 Surprise + .4 Fear      (range 0..1.25, 1 = normal)
    nose_wrinkle       = AU9 + .6 Disgust + .2 Anger
    upper_lip_raise    = AU10 + .5 Disgust
    smile              = AU12 + .6 Happy + .25 max(valence, 0)
    smirk              = AU14 + .6 Contempt                       (one-sided corner pull)
    lip_corner_depress = AU15 + .6 Sad + .25 max(-valence, 0)
    lip_press          = max(AU23, AU24) + .4 Anger
    lip_part           = AU25 + .3 Surprise + .2 Fear
    jaw_open           = AU26 + .5 Surprise + .2 Fear
    chin_raise         = AU17 + .3 Sad + .2 Anger
    flush              = .5 max(arousal, 0) + .4 Anger            (skin tint / blush strength)
    head_pitch/yaw/roll = head_pose (radians, clipped to +-0.7)

NaN or infinite inputs fall back to the neutral value (schema.clip_to_range), so a bad frame from a model
never reaches a renderer or a robot as NaN.
"""
from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields

import numpy as np

from react_ros import schema

MAX_HEAD_ANGLE = 0.7  # rad (~40 deg): beyond this the 2-D cartoon stops looking like a head
EYE_OPEN_MAX = 1.25  # 1 = normal; surprise widens the eyes a little beyond it


@dataclass(frozen=True)
class FaceParams:
    """Face controls; ranges in PARAM_RANGES (0..1 unless noted)."""

    brow_inner_raise: float = 0.0
    brow_outer_raise: float = 0.0
    brow_lower: float = 0.0
    eye_open: float = 1.0  # 0 = closed, 1 = normal, up to EYE_OPEN_MAX = widened
    cheek_raise: float = 0.0
    nose_wrinkle: float = 0.0
    upper_lip_raise: float = 0.0
    smile: float = 0.0
    smirk: float = 0.0
    lip_corner_depress: float = 0.0
    lip_press: float = 0.0
    lip_part: float = 0.0
    jaw_open: float = 0.0
    chin_raise: float = 0.0
    flush: float = 0.0
    head_pitch: float = 0.0  # rad, + = nod down
    head_yaw: float = 0.0  # rad, + = turn to the image right
    head_roll: float = 0.0  # rad, + = tilt clockwise in the image

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_array(self) -> np.ndarray:
        """float32 vector in field_names() order."""
        return np.array(astuple(self), dtype=np.float32)

    @classmethod
    def from_array(cls, values: np.ndarray) -> FaceParams:
        """Inverse of as_array (clipped, NaN-safe)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        names = cls.field_names()
        if values.shape[0] != len(names):
            raise ValueError(f"FaceParams.from_array: expected {len(names)} values ({', '.join(names)}), "
                             f"got {values.shape[0]}")
        return cls(**{n: _clip(n, v) for n, v in zip(names, values, strict=True)})

    def clipped(self) -> FaceParams:
        """A copy with every field inside its range (NaN -> the neutral default)."""
        return FaceParams.from_array(self.as_array())


PARAM_RANGES: dict[str, tuple[float, float]] = {
    name: (0.0, 1.0) for name in FaceParams.field_names()
}
PARAM_RANGES["eye_open"] = (0.0, EYE_OPEN_MAX)
for _angle in ("head_pitch", "head_yaw", "head_roll"):
    PARAM_RANGES[_angle] = (-MAX_HEAD_ANGLE, MAX_HEAD_ANGLE)
_DEFAULTS = {f.name: f.default for f in fields(FaceParams)}


def _clip(name: str, value: float) -> float:
    low, high = PARAM_RANGES[name]
    value = float(value)
    if not math.isfinite(value):
        return float(_DEFAULTS[name])
    return min(max(value, low), high)


def _unit(value: float) -> float:
    value = float(value)
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0


def _pose(head_pose: tuple[float, float, float] | np.ndarray | None) -> tuple[float, float, float]:
    if head_pose is None:
        return 0.0, 0.0, 0.0
    pose = np.asarray(head_pose, dtype=np.float64).reshape(-1)
    if pose.shape != (3,):
        raise ValueError(f"head_pose: expected (pitch, yaw, roll) in radians, got {pose.shape[0]} values")
    return float(pose[0]), float(pose[1]), float(pose[2])


def face_params_from_reaction(reaction: np.ndarray,
                              head_pose: tuple[float, float, float] | np.ndarray | None = None,
                              blink: float = 0.0) -> FaceParams:
    """Map one (25,) reaction frame (+ optional pitch/yaw/roll in rad and a 0..1 blink) to FaceParams."""
    r = np.asarray(reaction, dtype=np.float32)
    if r.shape != (schema.REACTION_DIM,):
        raise ValueError(f"face_params_from_reaction: expected a ({schema.REACTION_DIM},) reaction frame, "
                         f"got shape {r.shape}")
    r = schema.clip_to_range(r).astype(np.float64)

    def v(name: str) -> float:
        return float(r[schema.index_of(name)])

    valence, arousal = v("valence"), v("arousal")
    blink = _unit(blink)
    lid_tighten = v("AU7") + 0.3 * v("Anger") + 0.3 * v("Disgust")
    cheek = v("AU6") + 0.4 * v("Happy")
    widen = min(1.0, 0.5 * (v("AU1") + v("AU2")) + 0.5 * v("Surprise") + 0.4 * v("Fear"))
    eye_open = (1.0 - 0.45 * min(lid_tighten, 1.0) - 0.2 * min(cheek, 1.0) - 0.15 * v("Sad") + 0.25 * widen)
    raw = {
        "brow_inner_raise": v("AU1") + 0.5 * v("Surprise") + 0.5 * v("Sad") + 0.4 * v("Fear"),
        "brow_outer_raise": v("AU2") + 0.6 * v("Surprise") + 0.2 * v("Fear"),
        "brow_lower": v("AU4") + 0.6 * v("Anger") + 0.25 * v("Disgust") + 0.2 * v("Sad") + 0.2 * v("Fear"),
        "eye_open": eye_open * (1.0 - blink),
        "cheek_raise": cheek,
        "nose_wrinkle": v("AU9") + 0.6 * v("Disgust") + 0.2 * v("Anger"),
        "upper_lip_raise": v("AU10") + 0.5 * v("Disgust"),
        "smile": v("AU12") + 0.6 * v("Happy") + 0.25 * max(valence, 0.0),
        "smirk": v("AU14") + 0.6 * v("Contempt"),
        "lip_corner_depress": v("AU15") + 0.6 * v("Sad") + 0.25 * max(-valence, 0.0),
        "lip_press": max(v("AU23"), v("AU24")) + 0.4 * v("Anger"),
        "lip_part": v("AU25") + 0.3 * v("Surprise") + 0.2 * v("Fear"),
        "jaw_open": v("AU26") + 0.5 * v("Surprise") + 0.2 * v("Fear"),
        "chin_raise": v("AU17") + 0.3 * v("Sad") + 0.2 * v("Anger"),
        "flush": 0.5 * max(arousal, 0.0) + 0.4 * v("Anger"),
    }
    pose = _pose(head_pose)
    raw.update(head_pitch=pose[0], head_yaw=pose[1], head_roll=pose[2])
    return FaceParams(**{name: _clip(name, value) for name, value in raw.items()})
