"""The full cycle on a fresh synthetic data set: train a tiny model (all stages, a few steps), generate,
evaluate offline and online with the references, through the command-line tool a researcher uses."""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.cli import main
from react_ros.evaluation.cli import load_predictions

CONFIG = Path(__file__).resolve().parent.parent / "config" / "training" / "tiny.yaml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    data, run = root / "data", root / "run"
    assert main(["data", "synth", "--out", str(data), "--sessions", "5", "--clips-per-session", "2",
                 "--min-seconds", "4", "--max-seconds", "5", "--video-size", "64", "--seed", "2", "--quiet"]) == 0
    assert main(["train", "--config", str(CONFIG), "--data", str(data), "--out", str(run),
                 "--bundle", str(run / "bundle"), "--val-inputs", "1", "--quiet"]) == 0
    return data, run


def test_training_writes_checkpoints_and_a_bundle(trained):
    _, run = trained
    for name in ("ae.pt", "diffusion.pt", "estimator.pt", "train_report.json", "bundle/reaction.pt",
                 "bundle/estimator.pt", "bundle/card.json"):
        assert (run / name).is_file(), name
    report = json.loads((run / "train_report.json").read_text())
    history = report["history"]["diffusion"]
    assert history and "val_metrics" in history[-1]
    assert report["data_hash"]
    card = json.loads((run / "bundle" / "card.json").read_text())
    assert card["validation"] == history  # the card keeps the whole validation history, not the last step


def test_generate_is_reproducible_with_a_seed(trained, tmp_path):
    data, run = trained
    outputs = []
    for name in ("a.npz", "b.npz"):
        assert main(["generate", "--data", str(data), "--split", "test", "--samples", "4", "--model",
                     str(run / "bundle"), "--seed", "5", "--out", str(tmp_path / name)]) == 0
        outputs.append(load_predictions(tmp_path / name)[0])
    a, b = outputs
    assert a.keys() == b.keys() and a
    for clip_id, reactions in a.items():
        assert reactions.shape[0] == 4 and reactions.shape[2] == schema.REACTION_DIM
        np.testing.assert_array_equal(reactions, b[clip_id])
        assert np.isfinite(reactions).all()
        assert (reactions >= schema.LOWER - 1e-6).all() and (reactions <= schema.UPPER + 1e-6).all()


def test_eval_reports_model_online_model_and_references(trained, tmp_path):
    data, run = trained
    out = tmp_path / "report"
    assert main(["eval", "--data", str(data), "--predictions", str(run / "bundle"), "--online", "--samples", "3",
                 "--out", str(out)]) == 0
    results = json.loads((out / "metrics.json").read_text())["results"]
    expected = {"model (offline)", "model (online, from video+wav)", "GT", "GT, paired only", "Random", "Mime",
                "Delayed mimicry", "Delayed mimicry (online, from video+wav)", "MeanSeq", "MeanFr"}
    assert expected <= set(results)
    meta = json.loads((out / "metrics.json").read_text())["meta"]
    for direction in ("speaker->listener", "listener->speaker"):  # fitted on the training split, reported
        assert 0 <= meta[f"delay_frames {direction}"] <= 60
    for name, metrics in results.items():
        for key in ("FRCorr", "FRDist", "FRSyn"):
            assert math.isfinite(metrics[key]), (name, key)
        # one real reaction per input has no diversity to measure; every other row has K samples
        assert (metrics["FRDiv"] is not None) == (name != "GT, paired only"), name  # null in the JSON
    assert results["GT, paired only"]["FRCorr_per_pred"] > 0.99  # itself (constant dims score 0 by definition)
    assert "| GT, paired only |" in (out / "metrics.md").read_text()
    assert results["model (offline)"]["FRDiv"] > 0  # different samples, not one reaction repeated
    assert results["GT"]["FRDist"] == pytest.approx(0.0, abs=1e-6)
    # the references rank as they must on the synthetic dyadic data
    for other in ("Mime", "Random"):
        assert results["GT"]["FRCorr"] > results[other]["FRCorr"]
        assert results["GT"]["FRDist"] < results[other]["FRDist"]
    assert results["Random"]["FRDiv"] == max(m["FRDiv"] for m in results.values() if m["FRDiv"] is not None)
    assert (out / "metrics.md").read_text().count("|") > 20
    assert (out / "side_by_side_0.mp4").stat().st_size > 0
    assert (out / "attributes_over_time_0.png").stat().st_size > 0
    assert (out / "synchrony_lags.png").stat().st_size > 0
    assert results["Mime"]["FRSyn_lag_median"] == 0.0  # a copy of the speaker has no lag


def test_training_on_data_with_coefficients_adds_the_coefficient_head_and_eval_scores_and_writes_them(trained,
                                                                                                    tmp_path):
    """Issue 31: the synthetic data carry 3DMM coefficients (a linear map of the AUs and the head pose), so the
    bundle gets a coefficient head, and `eval --coefficients` scores the reactions as coefficients and writes them
    in MARS's layout, one tree per sample, as the partner's clip (the reaction answers the input)."""
    from react_ros.data.protocol import test_ground_truths
    from react_ros.data.readers import read_coefficients

    data, run = trained
    card = json.loads((run / "bundle" / "card.json").read_text())
    assert (run / "bundle" / "coefficient_head.npz").is_file()
    assert card["coefficient_head"]["val_r2"]["expression"] > 0.99  # the AUs map linearly to expression
    out = tmp_path / "report"
    assert main(["eval", "--data", str(data), "--predictions", str(run / "bundle"), "--samples", "3", "--videos", "0",
                 "--directions", "speaker->listener", "--coefficients", "--out", str(out)]) == 0
    results = json.loads((out / "coefficients" / "metrics.json").read_text())["results"]
    assert {"model (offline) -> coefficient head", "Head on the real listeners", "GT", "Mime",
            "Delayed mimicry"} <= set(results)
    assert results["GT"]["FRDist"] == pytest.approx(0.0, abs=1e-9)
    assert results["Head on the real listeners"]["FRCorr"] > results["Mime"]["FRCorr"]
    tests = test_ground_truths(data, "test", directions="speaker->listener")
    for test in tests:
        answer = test.input.partner()
        for k in range(3):
            path = answer.path(out / "coefficients" / "predicted" / f"sample{k}", "coefficients")
            assert read_coefficients(path, 0, None).shape == (len(test.speaker), schema.COEFFS_3DMM_DIM)
    assert not (out / "coefficients" / "predicted" / "sample3").exists()
    headless = tmp_path / "headless"  # a bundle trained before issue 31: a clear error, not a crash
    shutil.copytree(run / "bundle", headless)
    (headless / "coefficient_head.npz").unlink()
    assert main(["eval", "--data", str(data), "--predictions", str(headless), "--samples", "2", "--videos", "0",
                 "--no-references", "--coefficients", "--out", str(tmp_path / "x")]) == 2


def test_eval_of_a_predictions_file_and_a_clear_error_for_a_bad_one(trained, tmp_path):
    data, run = trained
    predictions = tmp_path / "p.npz"
    assert main(["generate", "--data", str(data), "--samples", "2", "--model", str(run / "bundle"),
                 "--out", str(predictions)]) == 0
    assert main(["eval", "--data", str(data), "--predictions", str(predictions), "--no-references",
                 "--videos", "0", "--out", str(tmp_path / "r")]) == 0
    np.savez(tmp_path / "bad.npz", something=np.zeros(3))
    assert main(["eval", "--data", str(data), "--predictions", str(tmp_path / "bad.npz"),
                 "--out", str(tmp_path / "r2")]) == 2


def test_training_without_training_videos_fails_before_the_model_trains(trained, tmp_path, capsys):
    """The estimator stage trains on the split's videos; a data set without them (react-ros families keeps the
    test split's only) must be refused at once, not after the model's stages, and say how to train without it."""
    data, _ = trained
    bare = tmp_path / "data"
    shutil.copytree(data, bare)
    shutil.rmtree(bare / "train" / "video-face-crop")
    run = tmp_path / "run"
    assert main(["train", "--config", str(CONFIG), "--data", str(bare), "--out", str(run), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "train/video-face-crop is missing" in error and "--stages ae diffusion" in error
    assert not (run / "ae.pt").exists()  # refused before the first stage
