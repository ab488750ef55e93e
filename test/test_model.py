"""The generator: causality, bounded context, reproducibility, samplers, checkpoints, training resume."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from react_ros import schema
from react_ros.model.checkpoint import load_checkpoint, save_checkpoint
from react_ros.model.config import ModelConfig
from react_ros.model.diffusion import NoiseSchedule, make_sampler
from react_ros.model.generator import (
    OnlineGenerator,
    SamplingConfig,
    WindowGenerator,
    continue_from_past,
    generate_offline,
)
from react_ros.model.reaction_model import ReactionModel
from react_ros.runtime.torch_backend import TorchGraphs
from react_ros.training.trainer import StageConfig, TrainConfig, Trainer, whiten_latent
from react_ros.training.windows import Augmentation, ClipFeatures, WindowSampler

TINY = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                   pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> ReactionModel:
    """A tiny model trained for a few steps: untrained weights saturate every output."""
    config = TrainConfig(out=str(tmp_path_factory.mktemp("tiny")), model=TINY,
                         ae=StageConfig(steps=40, batch_size=32, warmup=5),
                         diffusion=StageConfig(steps=40, batch_size=32, warmup=5), val_every=40, checkpoint_every=40)
    trainer = Trainer(config, _clips(3), _clips(1), progress=False)
    trainer.run()
    return trainer.model.eval()


def _speaker(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    visual = schema.clip_to_range(rng.random((frames, 25)).astype(np.float32))
    return visual, rng.standard_normal((frames, TINY.audio_dim)).astype(np.float32)


def _window_generator(model, **sampling) -> WindowGenerator:
    return WindowGenerator(TorchGraphs(model), SamplingConfig(**{"steps": 2, **sampling}))


def test_online_output_never_depends_on_future_speaker_input(tiny_model):
    visual, audio = _speaker(40)
    changed_visual, changed_audio = visual.copy(), audio.copy()
    t = 20  # window [20, 24) may use speaker frames < 20 only
    changed_visual[t:] = 1.0 - changed_visual[t:]
    changed_audio[t:] = -changed_audio[t:] * 3
    runs = []
    for v, a in ((visual, audio), (changed_visual, changed_audio)):
        online = OnlineGenerator(_window_generator(tiny_model), samples=2)
        online.reset(seed=3)
        runs.append(online.push(v, a))
    np.testing.assert_array_equal(runs[0][: t + TINY.window], runs[1][: t + TINY.window])
    assert not np.array_equal(runs[0][t + TINY.window:], runs[1][t + TINY.window:])


def test_window_is_emitted_as_soon_as_the_previous_frame_arrived(tiny_model):
    online = OnlineGenerator(_window_generator(tiny_model))
    online.reset(0)
    visual, audio = _speaker(9)
    sizes = [len(online.push(visual[i], audio[i])) for i in range(9)]
    # frame 0 push emits [0,4) (nothing to wait for), frame 3 emits [4,8), frame 7 emits [8,12)
    assert sizes == [4, 0, 0, 4, 0, 0, 0, 4, 0]


def test_context_stays_bounded_over_a_long_stream(tiny_model):
    online = OnlineGenerator(_window_generator(tiny_model))
    online.reset(0)
    size = online.context_frames
    visual, audio = _speaker(400)
    for chunk in range(0, 400, 7):
        online.push(visual[chunk:chunk + 7], audio[chunk:chunk + 7])
    assert online.context_frames == size == TINY.context * 2 + TINY.past
    assert online.visual.shape == (TINY.context, 25)


def test_same_seed_same_reactions_other_seed_other_reactions(tiny_model):
    visual, audio = _speaker(24)
    generator = _window_generator(tiny_model)
    a = generate_offline(generator, visual, audio, samples=3, seed=1)
    b = generate_offline(generator, visual, audio, samples=3, seed=1)
    c = generate_offline(generator, visual, audio, samples=3, seed=2)
    assert a.shape == (3, 24, 25)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1]), "samples of one input must differ"


def test_outputs_are_valid_reactions_even_for_nan_input(tiny_model):
    visual, audio = _speaker(16)
    visual[5:9] = np.nan
    audio[2] = np.inf
    out = generate_offline(_window_generator(tiny_model, guidance=2.0), visual, audio, samples=2)
    assert np.isfinite(out).all()
    schema.check_reactions(out.reshape(-1, 25), "generated")
    np.testing.assert_allclose(out[..., schema.EXPRESSION].sum(-1), 1.0, atol=1e-5)


def test_a_window_continues_its_past_without_a_jump():
    rng = np.random.default_rng(0)
    past = schema.clip_to_range(np.full((3, 6, 25), 0.3, np.float32))
    past[..., schema.EXPRESSION] = 1 / 8
    ramp = np.linspace(0.6, 0.67, 8, dtype=np.float32)[None, :, None]  # a window that starts 0.3 too high
    window = schema.clip_to_range(np.repeat(ramp, 3, 0) + rng.normal(0, 1e-3, (3, 8, 25)).astype(np.float32))
    window[..., schema.EXPRESSION] = 1 / 8
    out = continue_from_past(window, past)
    inside = np.abs(np.diff(out, axis=1)).max()
    border = np.abs(out[:, 0] - past[:, -1]).max()
    assert border <= inside + 1e-6  # the border step is no bigger than a step inside the window
    assert np.abs(np.diff(window, axis=1)).max() < 0.05 < np.abs(window[:, 0] - past[:, -1]).max()
    np.testing.assert_allclose(out[..., schema.EXPRESSION].sum(-1), 1.0, atol=1e-5)
    schema.check_reactions(out.reshape(-1, 25), "blended")
    # the end of the window moves toward what was sampled: the gap is faded out, not kept
    assert np.abs(out[:, -1] - window[:, -1]).max() < np.abs(out[:, 0] - window[:, 0]).max() / 4


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_noise_correlation_keeps_each_samples_noise_standard_normal_and_correlated_across_windows(rho):
    online = OnlineGenerator(WindowGenerator(_FlippingGraphs(), SamplingConfig(steps=2, noise_correlation=rho)),
                             samples=256)
    online.reset(seed=4)
    visual, audio = _speaker(TINY.window * 40)
    noises = []
    for start in range(0, len(visual), TINY.window):
        online.push(visual[start:start + TINY.window], audio[start:start + TINY.window])
        noises.append(online.noise.copy())
    noises = np.stack(noises)  # (windows, samples, latent)
    assert abs(noises.std() - 1.0) < 0.03  # what the sampler was trained for, whatever rho
    lag1 = np.mean(noises[1:] * noises[:-1])
    assert abs(lag1 - rho) < 0.03
    with pytest.raises(ValueError, match="noise_correlation"):
        SamplingConfig(noise_correlation=1.0)


class _FlippingGraphs:
    """A backend whose every window jumps away from its past: the worst case for borders."""

    config = TINY
    latent_scale = 1.0

    def condition(self, visual, visual_present, audio, audio_present, past):
        return np.zeros((len(visual), TINY.cond_dim), np.float32)

    def denoise(self, latent, t, cond):
        return np.zeros_like(latent)

    def sample(self, noise, cond, sampler, steps):
        return None

    def decode(self, latent, past):
        frame = schema.neutral_frame()[None, None].repeat(len(past), 0)
        frame[..., schema.AU] = 1.0 - past[:, -1:, schema.AU]  # far from where the past ended
        ramp = np.linspace(0.0, 0.02, TINY.window, dtype=np.float32)[None, :, None]
        return schema.clip_to_range(frame + ramp)


def test_generated_reactions_have_no_jumps_at_window_borders():
    visual, audio = _speaker(64)
    borders = np.arange(TINY.window, 64, TINY.window)
    for blend in (False, True):
        generator = WindowGenerator(_FlippingGraphs(), SamplingConfig(steps=2, blend_borders=blend))
        out = generate_offline(generator, visual, audio, samples=2)
        steps = np.abs(np.diff(out, axis=1)).max(axis=(0, 2))  # steps[i]: frame i -> i + 1
        at_border, inside = steps[borders - 1].max(), np.delete(steps, borders - 1).max()
        if blend:
            assert at_border <= inside + 1e-6
        else:
            assert at_border > 10 * inside  # without the blend the stub's jumps show


@pytest.mark.parametrize("name", ["ddim", "dpm"])
def test_samplers_recover_a_gaussian_with_the_exact_denoiser(name):
    schedule = NoiseSchedule(1000, "cosine")
    ac = schedule.alphas_cumprod()
    mu = 2.0

    def exact_x0(x, t):  # data distribution N(mu, 0.5^2): the optimal prediction E[x0 | x_t] in closed form
        a = ac[int(t)]
        return mu + np.sqrt(a) * 0.25 * (x - np.sqrt(a) * mu) / (a * 0.25 + 1 - a)

    x = make_sampler(name, schedule, 20).sample(exact_x0, np.random.default_rng(0).standard_normal(4000))
    assert abs(x.mean() - mu) < 0.02
    assert 0.4 < x.std() < 0.6


def test_sampler_rejects_unknown_names_and_zero_steps():
    with pytest.raises(ValueError, match="unknown sampler"):
        make_sampler("euler", NoiseSchedule(), 4)
    with pytest.raises(ValueError, match="steps"):
        make_sampler("ddim", NoiseSchedule(), 0)


def test_checkpoint_round_trip_gives_identical_outputs(tiny_model, tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny_model, {"note": "x"})
    loaded, meta = load_checkpoint(path)
    assert meta["note"] == "x" and len(meta["sha256"]) == 64
    visual, audio = _speaker(12)
    a = generate_offline(_window_generator(tiny_model), visual, audio, samples=2)
    b = generate_offline(_window_generator(loaded), visual, audio, samples=2)
    np.testing.assert_array_equal(a, b)


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a react_ros"):
        load_checkpoint(tmp_path / "other.pt")


def _clips(count: int, frames: int = 60, seed: int = 0) -> list[ClipFeatures]:
    clips = []
    for i in range(count):
        visual, audio = _speaker(frames, seed=seed + i)
        target = np.roll(visual, 5, axis=0)  # the listener mirrors the speaker 5 frames later
        clips.append(ClipFeatures(f"c{i}", "s0", visual, audio, target))
    return clips


def test_training_windows_are_causal_and_shaped():
    sampler = WindowSampler(_clips(2), TINY, seed=0)
    batch = sampler.batch(32, augment=None)
    assert batch["visual"].shape == (32, TINY.context, 25)
    assert batch["audio"].shape == (32, TINY.context, TINY.audio_dim)
    assert batch["past"].shape == (32, TINY.past, 25)
    assert batch["window"].shape == (32, TINY.window, 25)
    # the last context frame is the speaker frame just before the window: find t by matching
    clip = sampler.visual[: 60]
    for i in range(32):
        if batch["visual_present"][i, -1]:
            last = batch["visual"][i, -1]
            t = int(np.flatnonzero((np.abs(sampler.visual - last) < 1e-7).all(1))[0]) + 1
            np.testing.assert_array_equal(batch["window"][i], sampler.target[t:t + TINY.window])
    assert clip.shape == (60, 25)


def _true_pasts(sampler: WindowSampler, batch: dict) -> np.ndarray:
    """The past each window really had, found from its first target frame (targets are unique here)."""
    pasts = []
    for window in batch["window"]:
        t = int(np.flatnonzero((np.abs(sampler.target - window[0]) < 1e-7).all(1))[0])
        start = t - int(sampler.starts[sampler.starts <= t].max())
        rows = [sampler.target[t - start + i] if i >= 0 else sampler.neutral for i in range(start - TINY.past, start)]
        pasts.append(np.stack(rows))
    return np.stack(pasts)


@pytest.mark.parametrize("probability", [0.0, 0.5, 1.0])
def test_stale_past_augmentation_swaps_only_the_past(probability):
    sampler = WindowSampler(_clips(2, frames=200), TINY, seed=0)
    quiet = dict(past_noise=0.0, past_shift_probability=0.0, visual_noise=0.0)
    batch = sampler.batch(200, Augmentation(past_stale_probability=probability, **quiet))
    truth = _true_pasts(sampler, batch)
    stale = ~np.isclose(batch["past"], truth, atol=1e-6).all(axis=(1, 2))
    # a stale past is the same person at another moment (rarely, by chance, the same moment)
    assert abs(stale.mean() - probability) < 0.12
    # the target window itself is never touched: it is what the model must still produce
    assert all(len(np.flatnonzero((np.abs(sampler.target - w[0]) < 1e-7).all(1))) for w in batch["window"])


def test_training_config_reads_the_augmentation_from_yaml(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("augmentation: {past_stale_probability: 0.3, past_shift: 0.05}\n")
    config = TrainConfig.from_yaml(path)
    assert config.augmentation == Augmentation(past_stale_probability=0.3, past_shift=0.05)
    with pytest.raises(TypeError):
        TrainConfig.from_dict({"augmentation": {"past_stale": 0.3}})


def test_training_resumes_from_its_checkpoint(tmp_path):
    config = TrainConfig(out=str(tmp_path), model=TINY, ae=StageConfig(steps=6, batch_size=16, warmup=2),
                         diffusion=StageConfig(steps=6, batch_size=16, warmup=2), val_every=3, checkpoint_every=3)
    trainer = Trainer(config, _clips(3), _clips(1), data_hash="abc", progress=False)
    path = trainer.run()
    model, meta = load_checkpoint(path)
    assert meta["stage"] == "diffusion" and meta["step"] == 6 and meta["data_hash"] == "abc"
    assert float(model.latent_scale) > 0
    assert [h["step"] for h in meta["history"]["diffusion"]] == [3, 6]
    # resuming a finished run does no more steps and keeps the weights
    again = Trainer(config, _clips(3), _clips(1), data_hash="abc", progress=False)
    again.run()
    resumed, meta2 = load_checkpoint(path)
    assert meta2["step"] == 6
    for a, b in zip(model.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_latent_whitening_is_exact_and_centres_every_dimension():
    torch.manual_seed(0)
    model = ReactionModel(TINY).eval()
    with torch.no_grad():  # an autoencoder with offsets in its latent, like a lightly regularised one
        model.autoencoder.encoder[-1].bias[: TINY.latent_dim] += torch.linspace(-2, 2, TINY.latent_dim)
    sampler = WindowSampler(_clips(3), TINY, seed=0)
    batch = {k: torch.from_numpy(v) for k, v in sampler.batch(256, None).items()}
    with torch.no_grad():
        before_mean, _ = model.autoencoder.encode(batch["window"], batch["past"])
        before = model.autoencoder.decode(before_mean, batch["past"])
        whiten_latent(model, sampler)
        after_mean, _ = model.autoencoder.encode(batch["window"], batch["past"])
        after = model.autoencoder.decode(after_mean, batch["past"])
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)  # same reconstructions
    assert after_mean.mean(0).abs().max() < 0.2
    assert (after_mean.std(0) - 1).abs().max() < 0.2
    assert float(model.latent_scale) == 1.0


def test_whitening_a_mean_latent_model_keeps_its_reconstructions_and_moves_its_centre_to_zero():
    """mean_latent: the residual is measured from the latent centre; whitening centres the latent on it exactly,
    so reconstructions stay, and the zero latent (what temperature 0 decodes) is then the centre."""
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, speaker_skip=6, speaker_path="mean", decoder_past=False, mean_latent=True)
    model = ReactionModel(config).eval()
    sampler = WindowSampler(_clips(3), config, seed=0)
    batch = {k: torch.from_numpy(v) for k, v in sampler.batch(256, None).items()}
    from react_ros.model.config import speaker_skip_inputs

    skip = {k: torch.as_tensor(v) for k, v in speaker_skip_inputs(config, batch).items()}
    with torch.no_grad():
        model.autoencoder.encoder[-1].bias[: config.latent_dim] += torch.linspace(-2, 2, config.latent_dim)
        model.autoencoder.latent_centre.copy_(torch.linspace(-1.5, 1.5, config.latent_dim))
        before_mean, _ = model.autoencoder.encode(batch["window"], batch["past"], **skip)
        before = model.autoencoder.decode(before_mean, None, **skip)
        at_centre = model.autoencoder.decode(model.autoencoder.latent_centre.expand_as(before_mean), None, **skip)
        whiten_latent(model, sampler)
        after_mean, _ = model.autoencoder.encode(batch["window"], batch["past"], **skip)
        torch.testing.assert_close(model.autoencoder.decode(after_mean, None, **skip), before, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(model.autoencoder.decode(torch.zeros_like(after_mean), None, **skip), at_centre,
                                   atol=1e-5, rtol=1e-4)
    assert model.autoencoder.latent_centre.abs().max() == 0


def test_validation_metrics_leave_the_training_threads_as_they_were(tmp_path):
    """The metrics' numba loops changed torch's thread count (1 -> 2): two trainings on two cores then ran 2.5x
    slower after their first validation. Training continues on the threads it started with."""
    seen = []

    def metric_fn(model):
        torch.set_num_threads(torch.get_num_threads() + 1)  # what the numba metrics did
        return {"FRCorr_per_pred": 0.0}

    def step_threads(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_loss(*args, **kwargs)

    from react_ros.training import trainer as trainer_module

    real_loss = trainer_module.diffusion_loss
    config = TrainConfig(out=str(tmp_path), model=TINY, ae=StageConfig(steps=2, batch_size=8, warmup=1),
                         diffusion=StageConfig(steps=4, batch_size=8, warmup=1), val_every=2, checkpoint_every=4)
    before = torch.get_num_threads()
    try:
        trainer_module.diffusion_loss = step_threads
        Trainer(config, _clips(3), _clips(1), progress=False, metric_fn=metric_fn).run()
    finally:
        trainer_module.diffusion_loss = real_loss
        after = torch.get_num_threads()
        torch.set_num_threads(before)
    assert len(seen) >= 4 and set(seen) == {before} and after == before


def test_a_short_blend_closes_the_border_gap_then_leaves_the_window_as_sampled():
    """blend_frames: 2 joins the window to the past in two frames and leaves the rest as sampled (a blend over
    the whole window pulls every frame toward the past: late)."""
    past = schema.clip_to_range(np.full((1, 6, 25), 0.3, np.float32))
    past[..., schema.EXPRESSION] = 1 / 8
    window = schema.clip_to_range(np.repeat(np.linspace(0.6, 0.67, 8, dtype=np.float32)[None, :, None], 25, 2))
    window[..., schema.EXPRESSION] = 1 / 8
    short, whole = continue_from_past(window, past, frames=2), continue_from_past(window, past)
    au = schema.AU
    assert np.abs(short[:, 0, au] - past[:, -1, au]).max() < 0.02  # starts where the past ended
    np.testing.assert_allclose(short[:, 2:], window[:, 2:], atol=1e-6)  # then exactly as sampled
    assert np.abs(whole[:, 2:, au] - window[:, 2:, au]).min() > 0.01  # the whole-window blend is still pulling
    with pytest.raises(ValueError, match="blend_frames"):
        SamplingConfig(blend_frames=-1)


def test_a_fitted_speaker_filter_finds_the_listeners_delay_and_stays_frozen(tmp_path):
    """speaker_path: filter. The listener of `_clips` copies the speaker 5 frames later: the least-squares filter
    puts window frame k's weight on the speaker frame 5 frames before it (seen for k < 5), and autoencoder
    training leaves the fitted filter as it is."""
    model_config = dataclasses.replace(TINY, speaker_skip=12, speaker_path="filter", decoder_past=False)
    config = TrainConfig(out=str(tmp_path), model=model_config, ae=StageConfig(steps=5, batch_size=16, warmup=1),
                         checkpoint_every=5, val_every=5)
    trainer = Trainer(config, _clips(3, frames=200), _clips(1), progress=False)
    trainer.run(("ae",))
    weight = trainer.model.autoencoder.speaker_path.weight[0].detach().numpy()  # (w, S, d)
    s = model_config.speaker_skip
    for k in range(model_config.window):  # window of 4 frames: every frame's source is seen
        np.testing.assert_allclose(weight[k, s - 5 + k], 1.0, atol=0.05)  # gain 1 at the right slice, all 25
        others = np.delete(weight[k], s - 5 + k, axis=0)
        assert np.abs(others).max() < 0.05
    refit = Trainer(config, _clips(3, frames=200), _clips(1), progress=False).model  # untrained: zero filter
    assert np.abs(refit.autoencoder.speaker_path.weight.detach().numpy()).max() == 0
    fitted = trainer.model.autoencoder.speaker_path
    assert not any(p.requires_grad for p in fitted.parameters())


def _speaker_path_alone(model: ReactionModel):
    """(speaker frames, decoded window) with the decoder's residual silenced: what the speaker path alone answers
    to 40 frames of an unseen speaker."""
    autoencoder, s = model.autoencoder, model.config.speaker_skip
    with torch.no_grad():
        autoencoder.decoder[-1].weight.zero_()
        autoencoder.decoder[-1].bias.zero_()
        speaker = torch.tensor(_clips(1, frames=60, seed=7)[0].visual[None, 40 - s:40])
        return speaker, autoencoder.decode(torch.zeros(1, model.config.latent_dim), None, speaker, torch.ones(1, s))


def test_the_speaker_filter_copies_in_the_schemas_ranges(tmp_path):
    """speaker_path: filter reads and writes the schema's ranges: a listener whose AUs are 0.25 + half the
    speaker's 5 frames earlier (linear in ranges, S-shaped in logits) is reproduced by the filter alone, with
    the decoder's residual silenced. A filter of logits cannot draw that line (measured: FRCorr 0.44 against
    0.63 in ranges on the mirror family)."""
    model_config = dataclasses.replace(TINY, speaker_skip=12, speaker_path="filter", decoder_past=False)
    config = TrainConfig(out=str(tmp_path), model=model_config, ae=StageConfig(steps=1, batch_size=16, warmup=1),
                         checkpoint_every=5, val_every=5)
    clips = _clips(3, frames=200)
    for clip in clips:
        clip.target[:, schema.AU] = 0.25 + 0.5 * np.roll(clip.visual, 5, axis=0)[:, schema.AU]
    trainer = Trainer(config, clips, _clips(1), progress=False)
    trainer.run(("ae",))
    speaker, window = _speaker_path_alone(trainer.model)
    s = model_config.speaker_skip
    expected = 0.25 + 0.5 * speaker[0, s - 5:s - 5 + model_config.window, schema.AU]
    np.testing.assert_allclose(window[0, :, schema.AU].numpy(), expected.numpy(), atol=0.03)


def test_lag_features_point_at_the_listeners_delay():
    """lag_step: the condition's lag correlations peak at the delay at which the listener's past copies the
    speaker (4 frames here) and stay low elsewhere, and they reach the condition."""
    from react_ros.model.condition import ConditionEncoder

    config = dataclasses.replace(TINY, lag_step=2)
    encoder = ConditionEncoder(config).eval()
    assert encoder.lags == (0, 2, 4, 6, 8)
    visual, audio = _speaker(config.context, seed=3)
    c, p = config.context, config.past
    past = visual[c - p - 4:c - 4]  # the listener's last P frames: the speaker's, 4 frames later
    args = [torch.tensor(visual[None]), torch.ones(1, c)]
    corr = encoder.lag_correlations(*args, torch.tensor(past[None])).reshape(len(encoder.lags), 25).numpy()
    assert np.allclose(corr[2], 1.0, atol=1e-3)
    assert np.abs(np.delete(corr, 2, axis=0)).mean() < 0.5
    full = [*args, torch.tensor(audio[None]), torch.ones(1, c), torch.tensor(past[None])]
    with torch.no_grad():
        encoder.lag_in.weight.normal_()
        with_lags = encoder(*full)
        encoder.lag_in.weight.zero_()
        assert (with_lags - encoder(*full)).abs().max() > 0.1  # they reach the condition


def test_the_mean_path_learns_a_copy_and_a_cross_channel_answer(tmp_path):
    """speaker_path: mean (issue 26): fitted by least squares before the autoencoder, it alone (decoder residual
    silenced) reproduces a listener who copies half the speaker's AUs 5 frames later AND whose valence answers the
    speaker's AU12 3 frames later: the per-attribute filter cannot draw the second, a cross-attribute map alone
    fits the first with more noise; the blend holds both."""
    au12 = schema.AU_NAMES.index("AU12")
    model_config = dataclasses.replace(TINY, speaker_skip=12, speaker_path="mean", decoder_past=False)
    config = TrainConfig(out=str(tmp_path), model=model_config, ae=StageConfig(steps=1, batch_size=16, warmup=1),
                         checkpoint_every=5, val_every=5)

    def law(clips):
        for clip in clips:
            clip.target[:, schema.AU] = 0.25 + 0.5 * np.roll(clip.visual, 5, axis=0)[:, schema.AU]
            clip.target[:, schema.VALENCE] = -0.2 + 0.8 * np.roll(clip.visual, 3, axis=0)[:, au12]
        return clips

    trainer = Trainer(config, law(_clips(3, frames=300)), law(_clips(2, frames=200, seed=3)), progress=False)
    trainer.run(("ae",))
    report = trainer.history["mean_path"][0]
    assert report["blend_cross"][schema.VALENCE] > 0  # valence needs the cross-attribute map
    speaker, window = _speaker_path_alone(trainer.model)
    s = model_config.speaker_skip
    w = model_config.window
    np.testing.assert_allclose(window[0, :, schema.AU].numpy(),
                               (0.25 + 0.5 * speaker[0, s - 5:s - 5 + w, schema.AU]).numpy(), atol=0.03)
    seen = 3  # frames t, t+1, t+2 answer speaker frames before t; the window's last frame answers one not yet seen
    np.testing.assert_allclose(window[0, :seen, schema.VALENCE].numpy(),
                               (-0.2 + 0.8 * speaker[0, s - 3:s - 3 + seen, au12]).numpy(), atol=0.05)
    # an absent speaker frame reads as the training speakers' average frame, not as every attribute at its floor
    path = trainer.model.autoencoder.speaker_path
    average = np.concatenate([clip.visual for clip in law(_clips(3, frames=300))]).mean(0)
    np.testing.assert_allclose(path.fill.numpy(), average, atol=0.02)
    with torch.no_grad():
        absent = path(speaker, torch.zeros(1, s))
        np.testing.assert_allclose(absent.numpy(), path(path.fill.expand(1, s, -1)).numpy(), atol=1e-5)
        # a conversation's start: the frames before the speaker's first read as that first frame
        starting = torch.cat([torch.zeros(1, s - 4), torch.ones(1, 4)], dim=1)
        held = speaker.clone()
        held[0, : s - 4] = speaker[0, s - 4]
        np.testing.assert_allclose(path(speaker, starting).numpy(), path(held).numpy(), atol=1e-5)


def test_the_zero_latent_of_a_mean_latent_model_decodes_to_the_mean_path_and_a_listeners_latent_to_them(tmp_path):
    """model.mean_latent (issue 26): half the listeners smile 0.25 above what the speaker's AU12 tells them (six
    frames later), half 0.25 below. The decoder's residual is centred, so the zero latent decodes to the mean path
    exactly (the expected window: the offsets cancel), whatever the decoder learned, while each listener's own
    latent still says which side they are on. (Planted: an uncentred residual is 0.02-0.1 off the mean path.)"""
    au12 = schema.AU_NAMES.index("AU12")
    model_config = dataclasses.replace(TINY, speaker_skip=12, speaker_path="mean", decoder_past=False, mean_latent=True)
    config = TrainConfig(out=str(tmp_path), model=model_config, ae=StageConfig(steps=300, batch_size=64, warmup=20),
                         checkpoint_every=300, val_every=300)

    def answer(visual):
        return 0.1 + 0.4 * np.roll(visual[:, au12], 6)

    def listeners(count, seed):
        clips = _clips(count, frames=200, seed=seed)
        for i, clip in enumerate(clips):
            clip.target[:] = schema.neutral_frame()
            clip.target[:, schema.VALENCE] = answer(clip.visual) + (0.25 if i % 2 else -0.25)
        return clips

    trainer = Trainer(config, listeners(8, 0), listeners(4, 20), progress=False)
    trainer.run(("ae",))
    autoencoder = trainer.model.eval().autoencoder
    assert autoencoder.latent_centre.abs().max() > 0.01  # the running mean of the latents, not 0 yet
    with torch.no_grad():
        whiten_latent(trainer.model, trainer.train_sampler)  # as before diffusion: the centre becomes 0
    assert autoencoder.latent_centre.abs().max() == 0
    s, w = model_config.speaker_skip, model_config.window
    unseen = listeners(2, 40)
    ends = np.arange(s + 6, 190, 4)
    with torch.no_grad():
        speaker = torch.tensor(np.stack([unseen[0].visual[end - s:end] for end in ends]))
        present = torch.ones(len(ends), s)
        mean = autoencoder.decode(torch.zeros(len(ends), model_config.latent_dim), None, speaker, present)
        mean_path = autoencoder.speaker_path(speaker, present).reshape(len(ends), w, -1)
        np.testing.assert_allclose(mean[..., schema.VALENCE].numpy(), mean_path[..., schema.VALENCE].numpy(),
                                   atol=1e-4)
        expected = np.stack([answer(unseen[0].visual)[end:end + w] for end in ends])
        error = mean[..., schema.VALENCE].numpy() - expected
        assert abs(error.mean()) < 0.03 and np.abs(error).mean() < 0.1  # the expected window: on neither side
        sides = []
        for clip in unseen:
            window = torch.tensor(np.stack([clip.target[end:end + w] for end in ends]))
            past = torch.tensor(np.stack([clip.target[end - model_config.past:end] for end in ends]))
            latent, _ = autoencoder.encode(window, past, speaker, present)
            sides.append(autoencoder.decode(latent, None, speaker, present)[..., schema.VALENCE].mean().item())
        assert sides[1] - sides[0] > 0.3, sides  # the latent carries which listener this is
