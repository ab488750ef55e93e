"""The recipe's amplitude calibration (training/calibrate.py): a model that answers with a flattened copy of the
likely reaction is stretched back to the real listeners' liveliness, per attribute, on what the robot shows."""
from __future__ import annotations

import numpy as np
import pytest

from react_ros import schema


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from react_ros.data.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("amplitude") / "data"
    generate(SynthConfig(out=root, sessions=6, clips_per_session=2, min_seconds=4, max_seconds=4, video_size=64,
                         split_fractions=(0.34, 0.33, 0.33), seed=3, video=False), progress=False)
    return root


@pytest.fixture
def flattened(monkeypatch, data):
    """Fake generation: each sample is the paired real reaction squeezed toward its own mean by `FLAT` (what a
    squared-error model does to a listener it cannot pin down), plus a little noise."""
    import react_ros.evaluation.pipeline as pipeline
    from react_ros.data.protocol import test_ground_truths

    def fake(graphs, features, samples, seed, sampling, progress=False):
        rng = np.random.default_rng(seed)
        out = {}
        squeeze = FLAT if sampling.temperature == 0 else HOT_FLAT  # sampled noise moves a model more
        tests = [t for split in ("train", "val") for t in test_ground_truths(data, split, directions="speaker->listener")]
        for t in tests:
            mean = t.listener.mean(axis=0)
            flat = mean + squeeze * (t.listener - mean)
            flat[:, WRONG] = mean[WRONG] - squeeze * (t.listener[:, WRONG] - mean[WRONG])  # an attribute it gets wrong
            noisy = flat[None] + 0.002 * rng.standard_normal((samples, *flat.shape))
            out[t.id] = schema.clip_to_range(noisy.astype(np.float32))
        return {f.id: out[f.id] for f in features}

    monkeypatch.setattr(pipeline, "offline_predictions", fake)


FLAT, HOT_FLAT = 0.4, 0.8
WRONG = 7  # the model moves AU12 (lively in every input) against the real listener: a stretch stretches the mistake


def test_the_gains_undo_a_flattening_and_raise_frcorr(data, flattened):
    from react_ros.model.generator import SamplingConfig
    from react_ros.training.calibrate import calibrate_amplitude

    chosen, report = calibrate_amplitude(None, data, SamplingConfig(temperature=0.9), samples=3)
    gains = np.array(report["gains"])
    moving = np.delete(gains[: len(schema.AU_NAMES) + 2], WRONG)  # AUs and affect: the squeezed attributes
    assert np.median(moving) == pytest.approx(1 / HOT_FLAT, rel=0.15)  # the right direction and size: stretch
    assert report["FRCorr_per_pred_after"] > report["FRCorr_per_pred_before"] and report["applied"]
    assert chosen.amplitude == tuple(report["gains"]) and len(chosen.amplitude_center) == schema.REACTION_DIM
    assert chosen.temperature == 0.9  # only the amplitude is calibrated here
    # the attribute the model gets wrong is as flat as the others, but its stretch is not kept
    assert report["measured_gains"][WRONG] > 1.2 and gains[WRONG] == 1.0


def test_the_gains_are_measured_on_the_training_split_and_kept_by_validation(data, flattened, monkeypatch):
    """The gains follow the training split's flattening (three times validation's listeners: measured on a
    validation-sized split, partial's gains cost its mean answer 0.008 FRCorr/pred on the test split), and
    validation only keeps or drops each. Here the model flattens the training split's listeners to 0.4 and
    validation's to 0.8: the measured gains must say 2.5, not 1.25 (planted: measuring on validation: fails)."""
    import react_ros.evaluation.pipeline as pipeline
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig
    from react_ros.training.calibrate import calibrate_amplitude

    train_ids = {t.id for t in test_ground_truths(data, "train", directions="speaker->listener")}
    made = pipeline.offline_predictions  # the flattening fake

    def by_split(graphs, features, samples, seed, sampling, progress=False):
        squeeze = FLAT if features and features[0].id in train_ids else HOT_FLAT
        return made(graphs, features, samples, seed, replace_temperature(sampling, squeeze), progress)

    def replace_temperature(sampling, squeeze):
        from dataclasses import replace
        return replace(sampling, temperature=0.0 if squeeze == FLAT else 0.9)

    monkeypatch.setattr(pipeline, "offline_predictions", by_split)
    _, report = calibrate_amplitude(None, data, SamplingConfig(temperature=0.9), samples=3)
    assert report["measure_split"] == "train" and report["measure_inputs"] == len(train_ids)
    moving = np.delete(np.array(report["measured_gains"])[: len(schema.AU_NAMES) + 2], WRONG)
    assert np.median(moving) == pytest.approx(1 / FLAT, rel=0.15)


def test_match_amplitude_stays_in_the_schemas_ranges():
    from react_ros.model.generator import match_amplitude

    rng = np.random.default_rng(0)
    frames = schema.clip_to_range(rng.random((2, 30, schema.REACTION_DIM)).astype(np.float32))
    frames[..., schema.EXPRESSION] /= frames[..., schema.EXPRESSION].sum(-1, keepdims=True)
    out = match_amplitude(frames, np.full(schema.REACTION_DIM, 3.0), frames.reshape(-1, 25).mean(0))
    assert np.all(out >= schema.LOWER) and np.all(out <= schema.UPPER)
    np.testing.assert_allclose(out[..., schema.EXPRESSION].sum(-1), 1.0, atol=1e-5)
    assert out[..., schema.AU].std() > frames[..., schema.AU].std()


def test_the_card_carries_the_gains(tmp_path):
    from react_ros.model.card import ModelCard
    from react_ros.model.generator import SamplingConfig

    gains, centres = tuple([2.0] * schema.REACTION_DIM), tuple(schema.neutral_frame().tolist())
    card = ModelCard().with_sampling(SamplingConfig(amplitude=gains, amplitude_center=centres))
    card.write(tmp_path)
    assert ModelCard.read(tmp_path).sampling.amplitude == gains
    with pytest.raises(ValueError, match="amplitude"):
        SamplingConfig(amplitude=(1.0, 2.0), amplitude_center=(0.0, 0.0))
    with pytest.raises(ValueError, match="> 0"):
        SamplingConfig(amplitude=(0.0,) * schema.REACTION_DIM, amplitude_center=centres)


def test_the_mean_reaction_keeps_its_own_gains_on_the_card(data, flattened, tmp_path):
    """A model sampled at temperature > 0 is flattened less than its mean reaction (temperature 0, no style): the
    card keeps the operating point's gains for the operating point and the mean reaction's for temperature 0
    (ModelCard.mean_sampling), measured each at its own setting (the default family's trained model lost 0.025 on
    its temperature-0 row under the operating point's gains)."""
    import shutil
    from dataclasses import replace

    from react_ros.model.bundle import default_model_dir
    from react_ros.model.card import ModelCard
    from react_ros.training.calibrate import calibrate_bundle_amplitude

    bundle = tmp_path / "bundle"
    shutil.copytree(default_model_dir(), bundle)
    card = ModelCard.read(bundle)
    replace(card, extra={k: v for k, v in card.extra.items() if k != "speaker_attributes"}).with_sampling(
        replace(card.sampling, temperature=0.6, style_gain_sd=0.2, amplitude=(), amplitude_center=())).write(bundle)
    calibrate_bundle_amplitude(bundle, data, "speaker->listener", progress=False)
    card = ModelCard.read(bundle)
    hot, mean = np.array(card.sampling.amplitude), np.array(card.mean_sampling().amplitude)
    moving = [i for i in range(len(schema.AU_NAMES) + 2) if i != WRONG]
    assert np.median(hot[moving]) == pytest.approx(1 / HOT_FLAT, rel=0.15)
    assert np.median(mean[moving]) == pytest.approx(1 / FLAT, rel=0.15)
    assert card.mean_sampling().temperature == 0 and card.mean_sampling().style_gain_sd == 0
    assert card.sampling.temperature == 0.6 and card.sampling.style_gain_sd == 0.2


def test_a_held_style_is_judged_and_run_around_the_same_centre(data, monkeypatch):
    """A held style's gain acts around the card's amplitude centre at run time (the neutral frame without one). The
    grid and the amplitude step generate styled samples around the mean answer's average frame and the card keeps
    that centre, applied gains or not: judged around the neutral frame, affect's style moved each sample's whole
    level (validation FRDiv 0.0055 judged, 0.0014 as it ran)."""
    import react_ros.evaluation.pipeline as pipeline
    import react_ros.training.calibrate as calibrate
    from react_ros.data.protocol import test_ground_truths
    from react_ros.model.generator import SamplingConfig

    centres_seen = []

    def fake(graphs, features, samples, seed, sampling, progress=False):  # a model living far from the neutral face
        if calibrate.has_style(sampling):
            centres_seen.append((sampling.amplitude, sampling.amplitude_center))
        tests = {t.id: t for split in ("train", "val") for t in test_ground_truths(data, split, directions="speaker->listener")}
        return {f.id: np.repeat(schema.clip_to_range(0.3 + 0.5 * tests[f.id].listener)[None], samples, 0)
                for f in features}

    monkeypatch.setattr(pipeline, "offline_predictions", fake)
    val = test_ground_truths(data, "val", directions="speaker->listener")
    expected = np.concatenate([schema.clip_to_range(0.3 + 0.5 * t.listener) for t in val]).mean(axis=0)
    assert np.abs(expected - schema.neutral_frame()).max() > 0.1  # the neutral frame would be another centre
    styled = SamplingConfig(style_gain_sd=0.2, style_channel_sd=0.1)
    calibrate.measure_grid(None, data, styled, samples=4, grid=(0.0, 1.05))
    chosen, report = calibrate.calibrate_amplitude(None, data, styled, samples=4)
    assert centres_seen and all(len(gains) == schema.REACTION_DIM and set(gains) == {1.0} for gains, _ in centres_seen)
    for _, centre in centres_seen:
        np.testing.assert_allclose(centre, expected, atol=1e-5)
    np.testing.assert_allclose(chosen.amplitude_center, expected, atol=1e-5)  # the card runs it around the same
    np.testing.assert_allclose(report["centres"], expected, atol=1e-4)
