"""Geometry -> attributes without any model: the neutral baseline's pace, invariance of the measures, masks."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema
from react_ros.perception.face_attributes import (
    NEUTRAL_PRIOR,
    NeutralBaseline,
    activity,
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


def _held(geometry: FaceGeometry, seconds: float, baseline: NeutralBaseline) -> np.ndarray:
    """AU12 of each frame of `geometry` held still, the baseline learning as the front end lets it."""
    au12 = []
    for _ in range(int(seconds * schema.FPS)):
        values = attributes_from_geometry(geometry, baseline.value)[0]
        au12.append(values[AU12])
        baseline.update(geometry.features, frame_activity=activity(values))
    return np.array(au12)


def test_a_held_smile_is_never_absorbed_into_the_baseline():
    """Someone who sits down smiling (from the first frame, on the population prior) still reads a broad smile
    after 14 s: expressive frames do not teach the baseline (docs/perception.md)."""
    assert _held(_smile(), 14.0, NeutralBaseline()).min() == 1.0


def test_a_resting_face_unlike_the_prior_is_learnt_within_a_second():
    """A resting mouth 0.05 units wider than the prior reads AU12 ~0.17 on the prior; neutral-looking frames
    teach the baseline quickly, so it reads < 0.05 within a second."""
    features = NEUTRAL_PRIOR.copy()
    features[FEATURE_NAMES.index("mouth_width")] += 0.05
    rest = FaceGeometry(features=features, yaw=0.0, pitch=0.6, iod_px=100.0)
    au12 = _held(rest, 2.0, NeutralBaseline())
    assert au12[0] > 0.15 and au12[int(schema.FPS)] < 0.05


def test_baseline_step_weight_follows_the_frame_activity():
    baseline = NeutralBaseline()
    assert baseline.weight(0.0) == 1.0 and baseline.weight(0.25) == 1.0 and baseline.weight(0.6) == 0.0
    assert 0.0 < baseline.weight(0.4) < 1.0
    baseline.update(_smile().features, frame_activity=1.0)
    np.testing.assert_array_equal(baseline.value, NEUTRAL_PRIOR)  # an expressive frame moves nothing
    assert baseline.frames == 0


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


def test_a_smile_read_as_distress_gives_its_happiness_to_sadness_and_lowers_valence():
    from react_ros.perception.expression_check import distress_from
    from react_ros.perception.face_attributes import read_as_distress

    smile = np.zeros(schema.REACTION_DIM, np.float32)
    for name, value in (("AU12", 0.9), ("AU6", 0.6), ("AU1", 0.4), ("Happy", 0.8), ("Neutral", 0.2)):
        smile[schema.index_of(name)] = value
    smile[schema.AFFECT] = (0.64, 0.4)
    np.testing.assert_array_equal(read_as_distress(smile, 0.0), smile)
    cry = read_as_distress(smile, 1.0)
    assert cry[schema.index_of("AU12")] == 0.0 and cry[schema.index_of("AU6")] == 0.0
    assert cry[schema.index_of("AU1")] == pytest.approx(0.4)  # the rest of the face is as measured
    assert cry[schema.index_of("Happy")] == 0.0 and cry[schema.index_of("Sad")] == pytest.approx(0.8)
    assert cry[schema.EXPRESSION].sum() == pytest.approx(1.0) and cry[schema.VALENCE] < 0
    half = read_as_distress(smile, 0.5)
    assert half[schema.index_of("AU12")] == pytest.approx(0.45) and 0 < half[schema.index_of("Sad")] < 0.8
    # the classifier's verdict: negative classes against happy
    assert distress_from([0, 0, 0, 1.0, 0, 0, 0]) == 0.0  # happy
    assert distress_from([0.05, 0, 0.05, 0.05, 0.85, 0, 0]) == 1.0  # sad
    assert distress_from([0, 0, 0, 0.3, 0.0, 0.0, 0.7]) == 0.0  # neutral is no distress
    assert distress_from([0.2, 0, 0.35, 0.0, 0.45, 0, 0]) == 0.0  # unsure (a cartoon, say): the geometry stands
    assert distress_from([0, 0, 0.1, 0.25, 0.5, 0, 0.15]) == pytest.approx(0.5)
