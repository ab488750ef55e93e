"""FD_seen: realism measured on the human-style face's landmarks, so attributes count by how far they visibly
move the face (a jaw drop more than a dimple), beside the attribute-level FD_frame."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema
from react_ros.evaluation.seen_realism import seen_delta_fd, seen_frame_fd, seen_landmarks, seen_scores
from react_ros.metrics.realism import frame_fd


def _with(frames: np.ndarray, name: str, values: np.ndarray) -> np.ndarray:
    out = frames.copy()
    out[:, schema.index_of(name)] = values
    return out


@pytest.fixture(scope="module")
def real():
    rng = np.random.default_rng(0)
    frames = np.tile(schema.neutral_frame(), (600, 1))
    return _with(frames, "AU12", rng.uniform(0, 1, 600)), rng


def test_identical_sets_are_at_distance_zero(real):
    frames, _ = real
    assert seen_frame_fd(frames, frames) == pytest.approx(0.0, abs=1e-9)
    assert seen_delta_fd(frames[None], frames[None]) == pytest.approx(0.0, abs=1e-9)


def test_a_jaw_drop_counts_more_than_a_dimple_where_attributes_count_them_alike(real):
    frames, rng = real
    jaw = _with(frames, "AU26", rng.uniform(0, 1, 600))
    dimple = _with(frames, "AU14", rng.uniform(0, 1, 600))
    assert frame_fd(frames, jaw) == pytest.approx(frame_fd(frames, dimple), rel=0.2)  # alike as numbers
    assert seen_frame_fd(frames, jaw) > 1.5 * seen_frame_fd(frames, dimple)  # not alike on the face


def test_landmarks_move_the_way_the_face_does():
    neutral = seen_landmarks(schema.neutral_frame())
    jaw = schema.neutral_frame()
    jaw[schema.index_of("AU26")] = 1.0
    moved = (seen_landmarks(jaw) - neutral).reshape(-1, 2)
    assert moved[:, 1].max() > 0.1 and moved[:, 1].min() >= -1e-6  # landmarks only go down (y down) with the jaw


def test_seen_scores_pair_each_input_with_its_real_listener(real):
    frames, rng = real
    preds = [np.stack([frames[:100], frames[100:200]]), np.stack([frames[200:300]])]
    gts = [np.stack([frames[:100], frames[300:400]]), np.stack([frames[200:300]])]
    scores = seen_scores(preds, gts)
    assert set(scores) == {"FD_seen", "FD_seen_delta"} and all(v >= 0 for v in scores.values())
    same = seen_scores([g[:1] for g in gts], gts)
    assert same["FD_seen"] == pytest.approx(0.0, abs=1e-9)


def test_the_reduced_coordinates_give_the_distance_of_all_landmarks(real):
    from react_ros.metrics.realism import frechet_distance

    frames, rng = real
    jaw = _with(frames, "AU26", rng.uniform(0, 1, 600))
    full = frechet_distance(seen_landmarks(frames), seen_landmarks(jaw))
    assert seen_frame_fd(frames, jaw) == pytest.approx(full, rel=1e-6)
