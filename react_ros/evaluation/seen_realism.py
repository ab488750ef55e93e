"""Realism on what a person sees: Frechet distances on the human-style face's landmarks, beside FD_frame.

FD_frame (metrics/realism.py) compares the 25 attributes as numbers: a jaw drop and a dimple count the same.
Here every frame is first drawn as the human-style face would show it: the reaction through the
arkit_blendshapes profile's map (52 weights), the mesh deformed by them (face/human.py), and the frontal 2D
positions of FaceMesh's contour landmarks (lids, lips, brows, chin, cheeks, nose wings; inter-ocular units)
read off. The Frechet distance between the real and generated landmark sets (FD_seen) and their frame-to-frame
motion (FD_seen_delta) then weigh each attribute by how far it visibly moves the face. Same formula and
lower-is-better as FD_frame; not comparable with published FRRea either.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from react_ros import schema
from react_ros.metrics.realism import frechet_distance

__all__ = ["seen_delta_fd", "seen_frame_fd", "seen_landmark_indices", "seen_landmarks", "seen_scores"]


@lru_cache(maxsize=1)
def _projection() -> tuple[np.ndarray, ...]:
    """(landmarks, gains, neutral reaction, rest weights, lower, upper, neutral landmark row, field rows): the
    arkit_blendshapes map and the mesh's fields, restricted to the compared landmarks' x, y."""
    from react_ros.face.human import HumanFaceModel
    from react_ros.face.human_shapes import LANDMARKS
    from react_ros.robot.arkit import load_arkit_profile

    landmarks = np.array(sorted({k for group in LANDMARKS.values() for k in group}))
    profile = load_arkit_profile()
    model = HumanFaceModel()
    base = model.vertices[landmarks, :2].reshape(-1).astype(np.float64)
    fields = model.fields[:, landmarks, :2].reshape(len(schema.ARKIT_BLENDSHAPES), -1).astype(np.float64)
    rest = profile.neutral + profile.offset
    return landmarks, profile.gains, schema.neutral_frame().astype(np.float64), rest, profile.lower, \
        profile.upper, base, fields


def seen_landmark_indices() -> np.ndarray:
    """The FaceMesh landmarks that FD_seen compares."""
    return _projection()[0]


def seen_landmarks(reactions: np.ndarray) -> np.ndarray:
    """(..., 25) reactions -> (..., 2 * landmarks) frontal landmark positions of the human-style face."""
    _, gains, neutral, rest, lower, upper, base, fields = _projection()
    x = schema.clip_to_range(np.asarray(reactions, np.float32)).astype(np.float64)
    weights = np.clip(rest + (x - neutral) @ gains.T, lower, upper)
    return base + weights @ fields


@lru_cache(maxsize=1)
def _basis() -> np.ndarray:
    """An orthonormal basis of the plane every landmark row lies in (neutral + weights @ fields): the distance
    computed in its coordinates is the same as on all 2 x 126 coordinates (an isometry on the data), at a fraction
    of the cost of the matrix square root."""
    fields = _projection()[-1]
    u, singular, _ = np.linalg.svd(fields.T, full_matrices=False)
    return u[:, singular > 1e-9 * singular.max()]


def _rows(data: np.ndarray | Sequence[np.ndarray], delta: bool) -> np.ndarray:
    arrays = [data] if isinstance(data, np.ndarray) else list(data)
    basis = _basis()
    out = []
    for array in arrays:
        points = seen_landmarks(np.asarray(array, np.float32)) @ basis
        points = np.diff(points, axis=-2) if delta else points
        out.append(points.reshape(-1, points.shape[-1]))
    return np.concatenate(out)


def seen_frame_fd(real, fake) -> float:
    """FD between the real and generated frames as the human-style face shows them; (..., 25) arrays or lists."""
    return frechet_distance(_rows(real, False), _rows(fake, False))


def seen_delta_fd(real, fake) -> float:
    """FD between their frame-to-frame landmark motion; (..., L, 25) sequences or lists of them."""
    return frechet_distance(_rows(real, True), _rows(fake, True))


def seen_scores(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> dict[str, float]:
    """FD_seen and FD_seen_delta of predictions (K, L_i, 25) against the paired ground truths (gts[i][0]),
    the same pairing as FD_frame in metrics/evaluate.py."""
    real = [np.asarray(g)[0] for g in gts]
    fake = [np.asarray(p) for p in preds]
    return {"FD_seen": seen_frame_fd(real, fake), "FD_seen_delta": seen_delta_fd(real, fake)}
