"""`react-ros demo --quick` does what its help says: synthetic data -> the shipped model's reactions ->
REACT metrics -> a video."""
from __future__ import annotations

import json

import numpy as np

from react_ros import schema
from react_ros.cli import main
from react_ros.data.protocol import test_ground_truths
from react_ros.evaluation.cli import load_predictions
from react_ros.face.video import read_video


def test_quick_demo_writes_model_reactions_metrics_and_a_video(tmp_path):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    tests = test_ground_truths(summary["data"], "test")
    # The shipped model's reactions: 3 per test input, as long as the input, valid, and not all alike.
    predictions, meta = load_predictions(tmp_path / "reactions.npz")
    assert set(predictions) == {t.id for t in tests} and meta["model"]["model_dir"].endswith("demo_model")
    for test in tests:
        reactions = predictions[test.id]
        assert reactions.shape == (3, len(test.speaker), schema.REACTION_DIM)
        assert np.all(reactions >= schema.LOWER - 1e-6) and np.all(reactions <= schema.UPPER + 1e-6)
        assert np.abs(reactions[0] - reactions[1]).max() > 1e-3  # different samples, not one copy
    # Their REACT metrics, beside the references, in the report and the summary.
    results = json.loads((tmp_path / "report" / "metrics.json").read_text())["results"]
    assert {"predictions", "Mime", "Random"} <= set(results)
    for name in ("FRCorr", "FRDist", "FRDiv", "FRSyn"):
        assert np.isfinite(results["predictions"][name]) and summary["model"][name] == results["predictions"][name]
    assert results["predictions"]["FRCorr"] > results["Random"]["FRCorr"]  # a model, not noise
    # A side-by-side video: speaker | real listener | 3 generated listeners.
    (video,) = summary["videos"]
    frames = read_video(video)
    assert len(frames) == len(tests[0].speaker) and frames.shape[2] > 4 * frames.shape[1]
