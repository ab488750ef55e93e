"""The 3DMM coefficient head (issue 31): a causal lagged linear map from the reaction to REACT's 58 coefficients,
fitted by ridge on a data set's people; and the REACT metrics in coefficient space."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.data import layout
from react_ros.metrics.coefficients import evaluate_coefficients
from react_ros.model.coefficient_head import CoefficientHead, lagged_design
from react_ros.training.coefficients import fit_coefficient_head, has_coefficients

RNG_MAP = np.random.default_rng(3)
NOW, TWO_BACK = RNG_MAP.normal(0, 0.5, (25, 58)), RNG_MAP.normal(0, 0.5, (25, 58))
BIAS = RNG_MAP.normal(0, 0.1, 58)


def _reactions(rng: np.random.Generator, length: int) -> np.ndarray:
    """Smooth random reactions inside the schema's ranges."""
    walk = np.cumsum(rng.normal(0, 0.05, (length, schema.REACTION_DIM)), axis=0)
    low, high = schema.LOWER.astype(np.float64), schema.UPPER.astype(np.float64)
    return (low + (high - low) * (0.5 + 0.4 * np.tanh(walk))).astype(np.float32)


def _known_map(reactions: np.ndarray) -> np.ndarray:
    """coefficients[t] = bias + r[t] @ NOW + r[t-2] @ TWO_BACK (frame 0 repeated before the start)."""
    before = reactions[np.maximum(np.arange(len(reactions)) - 2, 0)]
    return (BIAS + reactions @ NOW + before @ TWO_BACK).astype(np.float32)


def _write_data(root: Path, sessions: dict[str, int], length: int = 120, seed: int = 0) -> None:
    """A MARS-layout data set whose coefficients are `_known_map` of the attributes."""
    rng = np.random.default_rng(seed)
    for split, count in sessions.items():
        for session in range(count):
            for role in layout.ROLES:
                clip = layout.ClipId(split, role, f"session{session}", "Camera-2024-01-01-090000-090004")
                attributes = _reactions(rng, length)
                for modality, values in ((layout.ATTRIBUTES, attributes), (layout.COEFFICIENTS, _known_map(attributes))):
                    path = clip.path(root, modality)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, values)


def test_the_head_finds_a_lagged_map_and_reports_what_it_explains(tmp_path):
    _write_data(tmp_path, {"train": 4, "val": 2})
    assert has_coefficients(tmp_path)
    head = fit_coefficient_head(tmp_path, lags=(0, 1, 2, 4))
    assert head.report["val_r2"]["expression"] > 0.999 and head.report["val_r2"]["rotation"] > 0.999
    assert head.report["val_r2"]["translation"] > 0.999
    fresh = _reactions(np.random.default_rng(9), 200)
    np.testing.assert_allclose(head(fresh), _known_map(fresh), atol=2e-3)
    # without the lag the map uses, the same data cannot be explained: the head reads the past it is given
    no_lag = fit_coefficient_head(tmp_path, lags=(0, 1))
    assert no_lag.report["val_r2"]["expression"] < 0.99


def test_the_head_is_causal_and_works_on_batches_of_samples():
    rng = np.random.default_rng(1)
    head = CoefficientHead((0, 3), rng.normal(0, 1, (1 + 2 * 25, 58)))
    reactions = _reactions(rng, 50)
    changed = reactions.copy()
    changed[30:] = _reactions(rng, 20)  # the future changes
    np.testing.assert_array_equal(head(reactions)[:30], head(changed)[:30])
    assert not np.allclose(head(reactions)[30:], head(changed)[30:])
    batch = np.stack([reactions, changed])  # (K, L, 25) samples at once
    np.testing.assert_allclose(head(batch)[1], head(changed), rtol=1e-6)
    assert lagged_design(reactions, (0, 3)).shape == (50, 51)


def test_the_head_round_trips_through_a_bundle_and_refuses_a_wrong_shape(tmp_path):
    rng = np.random.default_rng(2)
    head = CoefficientHead((0, 2), rng.normal(0, 1, (51, 58)), {"ridge": 0.1})
    head.save(tmp_path)
    loaded = CoefficientHead.load(tmp_path)
    assert loaded.lags == (0, 2) and loaded.report == {"ridge": 0.1}
    np.testing.assert_array_equal(loaded.weights, head.weights)
    assert CoefficientHead.load(tmp_path / "elsewhere") is None  # a bundle trained without coefficients
    with pytest.raises(ValueError, match="lags"):
        CoefficientHead((0, 2, 4), rng.normal(0, 1, (51, 58)))
    with pytest.raises(ValueError, match="reactions"):
        head(np.zeros((10, 24)))


def test_coefficient_metrics_rank_a_copy_a_late_copy_and_noise():
    rng = np.random.default_rng(4)
    real = [np.cumsum(rng.normal(0, 0.1, (1, 90, 58)), axis=1) for _ in range(3)]
    copy = [np.repeat(r, 4, axis=0) for r in real]
    late = [np.repeat(r[:, np.maximum(np.arange(90) - 10, 0)], 4, axis=0) for r in real]
    noise = [rng.normal(0, 1, (4, 90, 58)) for _ in real]
    exact, delayed, random = (evaluate_coefficients(p, real) for p in (copy, late, noise))
    assert exact["FRCorr_per_pred"] == pytest.approx(1.0) and exact["FRDist"] == pytest.approx(0.0, abs=1e-9)
    assert exact["FRCorr_per_pred"] > delayed["FRCorr_per_pred"] > random["FRCorr_per_pred"]
    assert exact["FRDist"] < delayed["FRDist"] < random["FRDist"]
    assert exact["FRDiv"] == 0.0 and random["FRDiv"] > 1.0
    with pytest.raises(ValueError, match="58"):
        evaluate_coefficients([np.zeros((2, 90, 25))], [np.zeros((1, 90, 25))])
