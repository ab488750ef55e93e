"""The mean path's least-squares fits (training/mean_path.py) on windows made directly: which channel filter it
keeps per attribute, and what it compares them by."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.training import mean_path

ROOT = Path(__file__).resolve().parents[1]

S, W = 24, 8  # speaker frames seen, window frames


def _smooth(rng, frames: int, d: int) -> np.ndarray:
    """Slowly varying speaker attributes (a copy at lag L is then also told, less well, by nearby lags)."""
    noise = rng.standard_normal((frames + 20, d))
    kernel = np.hanning(9)
    return np.stack([np.convolve(noise[:, a], kernel / kernel.sum(), "same") for a in range(d)], 1)[10:-10]


def _windows(series: np.ndarray, answer: np.ndarray, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(count, S, d) speaker frames before each window and (count, W, d) the listener's window, as the sampler
    cuts them (the window starts right after the speaker frames it sees)."""
    starts = rng.integers(S, len(series) - W, count)
    speaker = np.stack([series[t - S:t] for t in starts])
    window = np.stack([answer[t:t + W] for t in starts])
    return speaker, window


def _copy(series: np.ndarray, delay: int, gain: float, bias: float) -> np.ndarray:
    return bias + gain * np.roll(series, delay, axis=0)


def test_the_shared_filter_copies_at_a_delay_in_every_window_frame():
    """A listener copying every attribute 12 frames late (every frame of a window sees that speaker frame: frame k
    sees lags k+1..S): the shared filter (one set of lag weights for all frames) answers every frame exactly, with
    one weight on lag 12 wherever it sits in the window's context, and the bias where the speaker is at its mean."""
    rng = np.random.default_rng(0)
    series = _smooth(rng, 20000, 3) + np.array([0.5, -0.2, 0.0])
    answer = _copy(series, 12, 0.6, 0.3)
    speaker, window = _windows(series, answer, 4000, rng)
    weight, bias = mean_path.fit_shared_filter(speaker, window)
    made = (speaker.reshape(len(speaker), -1) @ weight + bias).reshape(window.shape)
    np.testing.assert_allclose(made, window, atol=2e-3)
    lag12 = weight.reshape(S, 3, W, 3)[[S - 12 + k for k in range(W)], 0, range(W), 0]
    assert np.ptp(lag12) < 1e-9 and abs(lag12[0] - 0.6) < 0.02  # one weight (ridge lends its neighbours a little)
    still = (np.repeat(series.mean(0)[None, None], S, axis=1).reshape(1, -1) @ weight + bias).reshape(W, 3)
    np.testing.assert_allclose(still, 0.3 + 0.6 * series.mean(0)[None].repeat(W, 0), atol=2e-3)


def test_few_windows_of_a_weak_copy_keep_the_shared_filter_a_fast_copy_keeps_one_per_frame():
    """Where a channel's copy is weak (few listeners copy it: partial) and the windows few, one filter shared by
    the eight window frames has eight times the examples per weight and agrees better with validation; where a
    listener copies 2 frames late, only one filter per frame can lean on the nearest lag each later frame sees.
    fit_mean_path keeps, per attribute, the one validation prefers (planted: always either one fails here)."""
    rng = np.random.default_rng(1)
    series = _smooth(rng, 40000, 2)
    weak = _copy(series[:, :1], 20, 0.15, 0.0) + 0.5 * rng.standard_normal((len(series), 1))
    fast = _copy(series[:, 1:], 2, 0.8, 0.0) + 0.05 * rng.standard_normal((len(series), 1))
    answer = np.concatenate([weak, fast], axis=1)
    train = _windows(series[:20000], answer[:20000], 600, rng)
    val = _windows(series[20000:], answer[20000:], 4000, rng)
    _, _, report = mean_path.fit_mean_path(*train, *val)
    assert report["channel_filter_shared"] == [1, 0]
    shared = mean_path._agreement(*mean_path.fit_shared_filter(*train), *val)
    per_frame = mean_path._agreement(*mean_path.fit_channel_filter(*train), *val)
    assert shared[0] > per_frame[0] + 0.02 and per_frame[1] > shared[1] + 0.02


def test_maps_are_compared_by_correlation_the_amplitude_is_calibrated_later():
    """The calibration stretches each attribute to the real listeners' spread after training, so two maps that
    differ only in how lively they are agree equally (a choice by concordance favoured the livelier map and cost
    partial's mean answer 0.007 FRCorr/pred)."""
    rng = np.random.default_rng(2)
    series = _smooth(rng, 6000, 2)
    speaker, window = _windows(series, _copy(series, 3, 1.0, 0.0), 500, rng)
    weight, bias = mean_path.fit_channel_filter(speaker, window)
    np.testing.assert_allclose(mean_path._agreement(0.3 * weight, 0.3 * bias + 0.1, speaker, window),
                               mean_path._agreement(weight, bias, speaker, window), atol=1e-9)


def _two_attribute_fit(second_answer):
    """A fit of two listener attributes: attribute 0 answers the speaker's attribute 1 linearly and through its
    square, attribute 1 answers `second_answer(series)`; returns fitted(**install options) -> (weight as (S, 2, W, 2),
    MLP gain as (W, 2), report)."""
    from react_ros.model.autoencoder import MeanPath
    from react_ros.model.config import ModelConfig

    rng = np.random.default_rng(3)
    series = _smooth(rng, 30000, 2) * 4
    answer = np.stack([0.8 * np.roll(series[:, 1], 5) + 0.5 * np.roll(series[:, 1], 5) ** 2,
                       second_answer(series)], 1)
    answer += 0.05 * rng.standard_normal(answer.shape)
    train = _windows(series[:20000], answer[:20000], 3000, rng)
    val = _windows(series[20000:], answer[20000:], 1000, rng)
    config = ModelConfig(window=W, speaker_skip=S, reaction_dim=2, mean_hidden=32)

    def fitted(**options):
        path = MeanPath(config)
        report = mean_path._install(path, *train, *val, **options)
        return path.weight.numpy().reshape(S, 2, W, 2), path.gain.numpy().reshape(W, 2), report

    return fitted


def test_an_own_only_attribute_reads_its_own_past_alone_no_other_attribute_and_no_mlp():
    """Listener attribute 0 answers the speaker's attribute 1 (linearly and through its square); attribute 1 copies
    itself. Fitted freely, attribute 0's answer leans on attribute 1 (the cross ridge and the MLP): that is how the
    recipe's valence came to read a real crying face as positive (docs/model.md, check 5). Named in own_only, its
    columns take no weight from any other speaker attribute and no MLP, and the other attribute is fitted as before."""
    fitted = _two_attribute_fit(lambda series: np.roll(series[:, 1], 5))
    free_weight, free_gain, _ = fitted()
    assert np.abs(free_weight[:, 1, :, 0]).sum() > 1.0 and free_gain[:, 0].max() > 0  # the free fit leans on attr 1
    weight, gain, report = fitted(own_only=(0,))
    assert report["own_only"] == [0] and report["blend_cross"][0] == 0.0
    assert np.abs(weight[:, 1, :, 0]).max() == 0.0 and gain[:, 0].max() == 0.0
    np.testing.assert_allclose(weight[:, :, :, 1], free_weight[:, :, :, 1])  # the other attribute as before


def test_a_linear_only_attribute_keeps_every_linear_answer_and_gets_no_mlp():
    """The same listeners: attribute 0 answers the speaker's attribute 1 linearly and through its square. Named in
    linear_only (the recipe's valence: the MLP pushed a real face's valence up whatever it did,
    docs/model.md), it keeps the cross ridge's answer from attribute 1, exactly as fitted freely, and gets no MLP;
    the other attribute keeps its MLP gain."""
    fitted = _two_attribute_fit(lambda series: np.roll(series[:, 1], 5) + 0.3 * np.roll(series[:, 0], 5) ** 2)
    free_weight, free_gain, _ = fitted()
    assert free_gain[:, 0].max() > 0 and free_gain[:, 1].max() > 0  # the free fit uses the MLP for both
    weight, gain, report = fitted(linear_only=(0,))
    assert report["linear_only"] == [0] and gain[:, 0].max() == 0.0
    np.testing.assert_array_equal(weight, free_weight)  # the linear map is the free fit's, cross ridge included
    assert np.abs(weight[:, 1, :, 0]).sum() > 1.0  # attribute 0 still answers attribute 1
    np.testing.assert_array_equal(gain[:, 1], free_gain[:, 1])  # the other attribute's MLP as before


def test_own_only_attributes_are_named_in_the_config_and_a_misspelt_name_fails_before_training():
    from react_ros import schema
    from react_ros.training.trainer import TrainConfig

    recipe = TrainConfig.from_yaml(ROOT / "config/training/recipe.yaml")
    assert recipe.own_only_indices() == ()  # the recipe answers affect from every attribute (docs/model.md)
    named = TrainConfig.from_dict({"mean_own_only": ["valence", "arousal"]})
    assert named.own_only_indices() == (schema.VALENCE, schema.AROUSAL)
    with pytest.raises(KeyError, match="valance"):
        TrainConfig.from_dict({"mean_own_only": ["valance"]})
    assert recipe.linear_only_indices() == (schema.VALENCE,)  # the recipe's valence answered linearly
    with pytest.raises(KeyError, match="arousl"):
        TrainConfig.from_dict({"mean_linear_only": ["arousl"]})


def _collinear_speaker(rng):
    """Speaker attribute 0 = z + u and attribute 1 = 0.3 z + u (u: what both pick up besides z, as synthetic
    speakers' expressions and derived valence do); listener attribute 0 answers -z three frames later. Attribute 1
    alone goes with the answer's opposite (corr -0.29), but least squares reads z as (a0 - a1) / 0.7 and gives
    attribute 1 a large positive weight: the balance a face outside the data (attribute 1 up, attribute 0 not)
    turns into an answer against attribute 1's own sign, as a real crying face did to the recipe's valence.
    Returns the training and validation windows and the probe: attribute 1 two sd up, attribute 0 at its mean."""
    zu = _smooth(rng, 30000, 2) * 4
    z, u = zu[:, 0], zu[:, 1]
    series = np.stack([z + u, 0.3 * z + u], 1)
    answer = np.stack([-np.roll(z, 3), np.roll(z, 3)], 1) + 0.05 * rng.standard_normal((len(z), 2))
    train = _windows(series[:20000], answer[:20000], 3000, rng)
    val = _windows(series[20000:], answer[20000:], 1000, rng)
    mean, sd = series.mean(0), series.std(0)
    probe = np.repeat((mean + np.array([0.0, 2.0]) * sd)[None, None], S, 1)
    return train, val, probe, np.repeat(mean[None, None], S, 1)


def test_attribute_dropout_keeps_the_cross_ridge_from_answering_against_an_inputs_own_sign():
    train, _, probe, rest = _collinear_speaker(np.random.default_rng(5))

    def answer(dropout):  # listener attribute 0 in window frame 0 (lag 3: its speaker frame is seen)
        weight, bias = mean_path.fit_cross_ridge(*train, ridge=1.0, stride=1, attribute_dropout=dropout)
        return float(((probe - rest).reshape(1, -1) @ weight).reshape(W, 2)[0, 0])

    assert answer(0.0) > 2.0  # least squares: attribute 1 up -> the answer up, against attribute 1's own sign
    assert answer(0.5) < 0.0  # each attribute must also answer alone: its own sign
    with pytest.raises(ValueError, match="probability"):
        from react_ros.training.trainer import TrainConfig

        TrainConfig.from_dict({"mean_attribute_dropout": 1.0})


def test_attribute_dropout_keeps_the_mlp_from_answering_against_an_inputs_own_sign():
    import torch

    from react_ros.model.autoencoder import MeanPath
    from react_ros.model.config import ModelConfig

    train, val, probe, rest = _collinear_speaker(np.random.default_rng(5))
    config = ModelConfig(window=W, speaker_skip=S, reaction_dim=2, mean_hidden=32)

    def answer(dropout):  # the MLP alone (linear map 0), listener attribute 0 in window frame 0
        path = MeanPath(config)
        mean_path.fit_mean_net(path, *train, *val, attribute_dropout=dropout)
        with torch.no_grad():
            made = [path(torch.as_tensor(x, dtype=torch.float32)).numpy().reshape(W, 2)[0, 0] for x in (probe, rest)]
        return float(made[0] - made[1])

    assert answer(0.0) > 2.0
    assert answer(0.5) < 0.0


def test_the_recipe_fits_its_mean_path_with_attribute_dropout():
    from react_ros.training.trainer import TrainConfig

    assert TrainConfig.from_yaml(ROOT / "config/training/recipe.yaml").mean_attribute_dropout == 0.5
    own_affect = TrainConfig.from_yaml(ROOT / "config/training/recipe_own_affect.yaml")
    assert own_affect.mean_attribute_dropout == 0.0  # as it was measured (docs/model.md)


def test_training_and_the_mean_answer_benchmark_fit_the_config_s_mean_path():
    """trainer.fit_mean_path is the one place a TrainConfig becomes a mean-path fit (the trainer's and
    benchmarks/mean_answer.py's): the config's own-only attributes and attribute dropout reach the fit."""
    import dataclasses

    from react_ros.model.config import ModelConfig
    from react_ros.model.reaction_model import ReactionModel
    from react_ros.training.trainer import TrainConfig, fit_mean_path
    from react_ros.training.windows import ClipFeatures

    rng = np.random.default_rng(3)
    clips = []
    for i in range(6):
        speaker = np.clip(0.5 + 0.2 * _smooth(rng, 400, 25), 0, 1).astype(np.float32)
        speaker[:, 1] = np.clip(0.6 * speaker[:, 0] + 0.4 * speaker[:, 1], 0, 1)  # collinear with attribute 0
        listener = np.clip(np.roll(speaker, 3, axis=0), 0, 1)
        listener[:, schema.VALENCE] = np.clip(1 - np.roll(speaker[:, 0], 3), -1, 1)  # valence answers attribute 0
        clips.append(ClipFeatures(f"c{i}", f"s{i}", speaker, np.zeros((400, 4), np.float32), listener.astype(np.float32)))
    model_config = ModelConfig(window=4, context=32, past=8, audio_dim=4, latent_dim=8, ae_width=32, d_model=16,
                               heads=2, pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2,
                               train_timesteps=100, speaker_skip=S, speaker_path="mean", decoder_past=False)

    def weight(**keys):
        config = dataclasses.replace(TrainConfig.from_dict(keys), model=model_config)
        model = ReactionModel(model_config)
        fit_mean_path(model, config, clips[:4], clips[4:])
        return model.autoencoder.speaker_path.weight.numpy().reshape(S, 25, -1, 25)

    plain, own, dropped = weight(), weight(mean_own_only=["valence"]), weight(mean_attribute_dropout=0.5)
    others = [a for a in range(25) if a != schema.VALENCE]
    assert np.abs(plain[:, others][..., schema.VALENCE]).max() > 1e-3  # valence read from attribute 0
    assert np.abs(own[:, others][..., schema.VALENCE]).max() == 0.0  # own-only: valence from its own past alone
    assert np.abs(dropped - plain).max() > 1e-4  # the dropout changed the cross-attribute fit


def test_the_mean_path_mlp_trains_while_validation_improves_and_stops_when_it_does_not():
    """The MLP's budget is the validation error, not an epoch count: on an answer it learns slowly (a product of
    two speaker attributes) it goes on past the old 40-epoch budget; on an answer with nothing to learn (noise) it
    stops `patience` epochs after its best instead of running to the cap. (Where on a long plateau the best epoch
    falls depends on the machine's arithmetic; only which side of 40 it falls on is asserted.)"""
    from react_ros.model.autoencoder import MeanPath
    from react_ros.model.config import ModelConfig

    config = ModelConfig(window=W, speaker_skip=S, reaction_dim=2, mean_hidden=32)
    rng = np.random.default_rng(7)
    series = _smooth(rng, 12000, 2) * 2
    answer = np.stack([np.roll(series[:, 0] * series[:, 1], 3), np.zeros(len(series))], 1)
    train, val = _windows(series[:9000], answer[:9000], 1024, rng), _windows(series[9000:], answer[9000:], 512, rng)
    slow = mean_path.fit_mean_net(MeanPath(config), *train, *val)
    assert slow["net_best_epoch"] >= 40, slow  # still improving where the old budget stopped it

    noise = rng.standard_normal((12000, 2))
    train, val = _windows(series[:9000], noise[:9000], 1024, rng), _windows(series[9000:], noise[9000:], 512, rng)
    nothing = mean_path.fit_mean_net(MeanPath(config), *train, *val)
    assert nothing["net_epochs"] == nothing["net_best_epoch"] + 1 + mean_path.MEAN_NET_PATIENCE, nothing
    assert nothing["net_epochs"] < mean_path.MEAN_NET_EPOCHS / 2, nothing


def test_fitting_the_mean_path_mlp_leaves_the_global_random_stream_alone():
    """Training seeds torch per process (different noise on every rank) and then fits the mean path: a fit that
    reseeded the global stream gave every rank the same noise, and made the autoencoder's noise depend on how
    many epochs the fit ran."""
    import torch

    from react_ros.model.autoencoder import MeanPath
    from react_ros.model.config import ModelConfig

    rng = np.random.default_rng(1)
    series = _smooth(rng, 3000, 2)
    train, val = _windows(series[:2000], series[:2000], 256, rng), _windows(series[2000:], series[2000:], 128, rng)
    path = MeanPath(ModelConfig(window=W, speaker_skip=S, reaction_dim=2, mean_hidden=8))
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    mean_path.fit_mean_net(path, *train, *val, epochs=3)
    assert torch.equal(torch.rand(3), expected)
