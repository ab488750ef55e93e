"""Geometry -> attributes without any model: the neutral baseline's pace, invariance of the measures, masks."""
from __future__ import annotations

import numpy as np

from react_ros import schema
from react_ros.perception.face_attributes import (
    NEUTRAL_PRIOR,
    NeutralBaseline,
    attributes_from_geometry,
    hide_mouth,
)
from react_ros.perception.face_geometry import FEATURE_NAMES, FaceGeometry, measure

AU12 = schema.index_of("AU12")


def _smile() -> FaceGeometry:
    features = NEUTRAL_PRIOR.copy()
    features[FEATURE_NAMES.index("mouth_width")] += 0.2
    features[FEATURE_NAMES.index("corner_lift")] += 0.08
    return FaceGeometry(features=features, yaw=0.0, pitch=0.6, iod_px=100.0)


def test_a_held_smile_fades_into_the_baseline_slowly():
    """docs/perception.md: a broad smile held still reads AU12 0.5 after ~12 s (not in a second or two)."""
    baseline = NeutralBaseline()
    for _ in range(30):
        baseline.update(NEUTRAL_PRIOR)
    smile = _smile()
    au12 = []
    for _ in range(int(14 * schema.FPS)):
        au12.append(attributes_from_geometry(smile, baseline.value)[0][AU12])
        baseline.update(smile.features)
    assert min(au12[: int(2 * schema.FPS)]) > 0.95
    assert 0.35 < au12[int(12 * schema.FPS)] < 0.65


def test_measures_ignore_position_size_and_roll():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (468, 3))
    points[33, :2], points[263, :2] = (30, 40), (70, 40)
    angle, scale, shift = 0.6, 2.5, np.array([200.0, -50.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = points.copy()
    moved[:, :2] = points[:, :2] @ rotation.T * scale + shift
    np.testing.assert_allclose(measure(moved).features, measure(points).features, atol=1e-5)


def test_covered_mouth_unmeasures_what_needs_it_and_keeps_the_brows():
    values, measured = attributes_from_geometry(_smile(), NEUTRAL_PRIOR)
    assert values[AU12] == 1.0 and measured[AU12]
    hidden, hidden_mask = hide_mouth(values, measured)
    assert hidden[AU12] == 0.0 and not hidden_mask[AU12] and not hidden_mask[schema.EXPRESSION].any()
    assert hidden_mask[schema.index_of("AU1")] and not hidden_mask[schema.index_of("AU9")]
    schema.check_reactions(hidden[None], "hidden")
