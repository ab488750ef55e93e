"""Face geometry from FaceMesh's 468 landmarks: head-pose proxies and the shape measures AUs are read from.

Every measure is taken in the face's own frame: origin between the outer eye corners (33, 263), x along
the eye line, y down, lengths in inter-ocular units (IOD = distance 33-263). So a measure does not change
with the face's position, size in the image or in-plane rotation (roll); it does change with yaw and pitch,
which is why strongly turned faces are reported absent rather than measured (`frontal`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURE_NAMES", "FaceGeometry", "measure"]

# FaceMesh indices (canonical face model; "right" is the person's right, image left on a frontal face)
R_EYE_OUTER, L_EYE_OUTER = 33, 263
R_LID_UP, R_LID_DOWN, L_LID_UP, L_LID_DOWN = 159, 145, 386, 374
R_BROW_INNER, L_BROW_INNER, R_BROW_OUTER, L_BROW_OUTER = 107, 336, 70, 300
NOSE_TIP, NOSE_BOTTOM = 1, 2
LIP_UP_OUTER, LIP_UP_INNER, LIP_DOWN_INNER, LIP_DOWN_OUTER = 0, 13, 14, 17
MOUTH_R, MOUTH_L = 61, 291
CHIN = 152

FEATURE_NAMES: tuple[str, ...] = (
    "brow_inner",    # inner brow height above the eye line (AU1 up, AU4 down)
    "brow_outer",    # outer brow height above the eye line (AU2)
    "brow_gap",      # distance between the inner brow ends (AU4 pulls them together)
    "eye_open",      # mean lid opening (AU6/AU7 narrow it, surprise widens it)
    "mouth_width",   # lip corner to lip corner (AU12 widens, AU23 narrows)
    "lip_gap",       # inner lip opening (AU25)
    "corner_lift",   # lip corners above the lip centre (AU12 up, AU15 down)
    "corner_asym",   # right corner minus left corner height (unilateral: contempt)
    "nose_lip",      # nose bottom to upper lip (AU10 shortens it)
    "chin_lip",      # lower lip to chin (AU17 shortens it)
    "lip_thickness",  # red of both lips (AU23/AU24 thin them)
    "jaw",           # eye line to chin (AU26 lengthens it)
)


@dataclass(frozen=True)
class FaceGeometry:
    features: np.ndarray  # (len(FEATURE_NAMES),) float32, inter-ocular units
    yaw: float  # -1 (turned fully one way) .. 1 (the other); 0 frontal; from the nose between the eyes
    pitch: float  # nose tip height relative to the eye line and mouth, 0.5 about frontal
    iod_px: float  # inter-ocular distance in image pixels

    def feature(self, name: str) -> float:
        return float(self.features[FEATURE_NAMES.index(name)])


def measure(points: np.ndarray) -> FaceGeometry:
    """(468, 2+) landmark pixels -> FaceGeometry."""
    xy = np.asarray(points, dtype=np.float64)[:, :2]
    right, left = xy[R_EYE_OUTER], xy[L_EYE_OUTER]
    axis = left - right
    iod = float(np.hypot(*axis))
    if not np.isfinite(iod) or iod < 1e-6:
        raise ValueError("face_geometry.measure: degenerate landmarks (eye corners coincide)")
    ex = axis / iod
    ey = np.array([-ex[1], ex[0]])  # y down in image coordinates
    local = (xy - (right + left) / 2) @ np.stack([ex, ey], axis=1) / iod
    x, y = local[:, 0], local[:, 1]
    lip_centre = (y[LIP_UP_INNER] + y[LIP_DOWN_INNER]) / 2
    features = np.array([
        -(y[R_BROW_INNER] + y[L_BROW_INNER]) / 2,
        -(y[R_BROW_OUTER] + y[L_BROW_OUTER]) / 2,
        abs(x[L_BROW_INNER] - x[R_BROW_INNER]),
        (abs(y[R_LID_DOWN] - y[R_LID_UP]) + abs(y[L_LID_DOWN] - y[L_LID_UP])) / 2,
        float(np.hypot(*(local[MOUTH_L] - local[MOUTH_R]))),
        max(0.0, y[LIP_DOWN_INNER] - y[LIP_UP_INNER]),
        lip_centre - (y[MOUTH_R] + y[MOUTH_L]) / 2,
        y[MOUTH_L] - y[MOUTH_R],
        y[LIP_UP_OUTER] - y[NOSE_BOTTOM],
        y[CHIN] - y[LIP_DOWN_OUTER],
        (y[LIP_UP_INNER] - y[LIP_UP_OUTER]) + (y[LIP_DOWN_OUTER] - y[LIP_DOWN_INNER]),
        y[CHIN],
    ], dtype=np.float32)
    to_right = x[NOSE_TIP] - x[R_EYE_OUTER]
    to_left = x[L_EYE_OUTER] - x[NOSE_TIP]
    yaw = float(np.clip((to_right - to_left) / max(to_right + to_left, 1e-6), -1.0, 1.0))
    if to_right <= 0 or to_left <= 0:  # the nose tip outside the eye corners: a profile
        yaw = float(np.sign(to_right - to_left) or 1.0)
    mouth = (y[MOUTH_R] + y[MOUTH_L]) / 2
    pitch = float(y[NOSE_TIP] / mouth) if mouth > 1e-6 else 0.0
    return FaceGeometry(features=features, yaw=yaw, pitch=pitch, iod_px=iod)
