"""What classifier-free guidance and the sampling temperature mean, pinned on an analytic "network" whose
right answer is known in closed form, through the real WindowGenerator and samplers (no backend compared
with another backend: a bug shared by all backends would pass such a comparison).

The stand-in graphs: the condition encoder returns 1 when any speaker modality is present and 0 when both
are masked (the unconditional branch guidance uses); the denoiser returns the v that makes the clean-latent
prediction x0 equal to a chosen target (guidance tests) or to the exact posterior mean of a Gaussian data
distribution (temperature tests); the decoder repeats the latent over the window.
"""
from __future__ import annotations

import numpy as np
import pytest

from react_ros.model.config import ModelConfig
from react_ros.model.diffusion import NoiseSchedule, make_sampler
from react_ros.model.generator import SamplingConfig, WindowGenerator

CONFIG = ModelConfig(window=2, context=4, past=2, audio_dim=3, latent_dim=25, train_timesteps=1000)
MU_CONDITIONAL = np.linspace(-1.0, 1.0, 25).astype(np.float32)
MU_UNCONDITIONAL = np.full(25, 0.25, np.float32)


class AnalyticGraphs:
    """x0 prediction = target (conditional or unconditional), optionally the Gaussian posterior mean."""

    latent_scale = 1.0

    def __init__(self, data_std: float | None = None):
        self.config = CONFIG
        self.alphas_cumprod = NoiseSchedule(CONFIG.train_timesteps, CONFIG.schedule).alphas_cumprod()
        self.data_std = data_std  # None: x0 is the target whatever x is; else data ~ N(target, data_std^2)
        self.unconditional_calls = 0

    def sample(self, x_t, cond, sampler, steps):  # no one-graph sampler: the generator runs its own loop
        return None

    def condition(self, visual, visual_present, audio, audio_present, past):
        present = (visual_present.max(axis=1) + audio_present.max(axis=1)) > 0
        self.unconditional_calls += int((~present).any())
        return present.astype(np.float32)[:, None]

    def x0(self, latent, t, cond):
        target = np.where(cond > 0.5, MU_CONDITIONAL, MU_UNCONDITIONAL)
        if self.data_std is None:
            return target
        a, s2 = self.alphas_cumprod[int(t[0])], self.data_std ** 2
        return target + np.sqrt(a) * s2 * (latent - np.sqrt(a) * target) / (a * s2 + 1 - a)

    def denoise(self, latent, t, cond):
        a = self.alphas_cumprod[int(t[0])]
        x0 = self.x0(latent, t, cond)  # x0 = sqrt(a) x - sqrt(1-a) v  =>  v = (sqrt(a) x - x0) / sqrt(1-a)
        return ((np.sqrt(a) * latent - x0) / np.sqrt(1 - a)).astype(np.float32)

    def decode(self, latent, past):
        return np.repeat(latent[:, None, :], CONFIG.window, axis=1).astype(np.float32)


def _generate(graphs, noise, **sampling):
    batch = len(noise)
    c = CONFIG
    visual = np.zeros((batch, c.context, 25), np.float32)
    audio = np.zeros((batch, c.context, c.audio_dim), np.float32)
    present = np.ones((batch, c.context), np.float32)
    past = np.zeros((batch, c.past, 25), np.float32)
    generator = WindowGenerator(graphs, SamplingConfig(**{"blend_borders": False, **sampling}))
    return generator(visual, present, audio, present, past, noise.astype(np.float32))[:, 0]


@pytest.mark.parametrize("sampler,steps,atol", [("ddim", 1, 1e-5), ("ddim", 4, 1e-5), ("dpm", 4, 0.03)])
@pytest.mark.parametrize("guidance", [0.0, 1.0, 2.0, 3.0])
def test_guidance_moves_the_sample_toward_the_conditional_prediction(sampler, steps, atol, guidance):
    noise = np.random.default_rng(0).standard_normal((3, 25))
    sample = _generate(AnalyticGraphs(), noise, sampler=sampler, steps=steps, guidance=guidance)
    # x0_guided = x0_u + g (x0_c - x0_u): g = 0 is the unconditional model, 1 the conditional, > 1 further
    # from the unconditional prediction than the conditional one.
    expected = MU_UNCONDITIONAL + guidance * (MU_CONDITIONAL - MU_UNCONDITIONAL)
    # (DPM-Solver's last step keeps a sliver, sigma_min / sigma_max, of the initial noise: its atol.)
    np.testing.assert_allclose(sample, np.broadcast_to(expected, sample.shape), atol=atol)
    direction = MU_CONDITIONAL - MU_UNCONDITIONAL
    along = (sample - MU_UNCONDITIONAL) @ direction / (direction @ direction)
    np.testing.assert_allclose(along, guidance, atol=atol)  # moved toward, never away from, the condition


def test_guidance_one_is_the_conditional_model_alone():
    noise = np.random.default_rng(1).standard_normal((4, 25))
    graphs = AnalyticGraphs(data_std=0.5)
    sample = _generate(graphs, noise, sampler="dpm", steps=4, guidance=1.0)
    assert graphs.unconditional_calls == 0  # no unconditional branch is evaluated at all
    schedule = NoiseSchedule(CONFIG.train_timesteps, CONFIG.schedule)
    conditional = np.ones((4, 1), np.float32)
    direct = make_sampler("dpm", schedule, 4).sample(
        lambda x, t: graphs.x0(x, np.full(len(x), t), conditional), noise.astype(np.float32))
    np.testing.assert_allclose(sample, direct, atol=1e-5)
    guided = _generate(AnalyticGraphs(data_std=0.5), noise, sampler="dpm", steps=4, guidance=1.5)
    assert np.abs(guided - sample).max() > 0.1  # any other scale changes the sample


@pytest.mark.parametrize("sampler,steps", [("ddim", 10), ("dpm", 4)])
def test_temperature_scales_the_spread_of_samples(sampler, steps):
    """Data ~ N(mu, 0.5^2) and the exact denoiser: the sampler maps noise affinely onto the data, so the
    spread of samples over many seeds is the temperature times the spread at temperature 1."""
    noise = np.random.default_rng(2).standard_normal((2000, 25))
    spread, centre = {}, {}
    for temperature in (0.0, 0.5, 1.0, 1.5):
        samples = _generate(AnalyticGraphs(data_std=0.5), noise, sampler=sampler, steps=steps,
                            temperature=temperature)
        spread[temperature], centre[temperature] = samples.std(axis=0).mean(), samples.mean(axis=0)
        np.testing.assert_allclose(centre[temperature], MU_CONDITIONAL, atol=0.15)  # few steps: near the mean
        np.testing.assert_allclose(centre[temperature], centre[0.0], atol=0.08)  # temperature: spread, not shift
    assert 0.35 < spread[1.0] < 0.75  # near the data's own spread (0.5) at temperature 1 (few steps: not exact)
    assert spread[0.0] < 1e-5  # temperature 0: deterministic, every seed gives the mode
    for temperature in (0.5, 1.5):
        assert spread[temperature] / spread[1.0] == pytest.approx(temperature, rel=1e-3)


def test_a_setting_without_randomness_is_generated_once_and_gives_every_sample_the_same_answer():
    """Temperature 0 and no listener style: the samples are the model's mean answer, identical; offline generation
    makes it once (a tenth of the work for 10 samples) and the result equals generating them all."""
    import torch

    from react_ros.data.features import ClipFeatures
    from react_ros.evaluation.pipeline import offline_predictions
    from react_ros.model.generator import generate_offline
    from react_ros.model.reaction_model import ReactionModel
    from react_ros.runtime.torch_backend import TorchGraphs

    c = ModelConfig(window=4, context=16, past=8, audio_dim=8, latent_dim=8, ae_width=32, d_model=16, heads=2,
                    pool_queries=2, cond_dim=16, denoiser_width=32, denoiser_blocks=2, train_timesteps=100)
    torch.manual_seed(0)
    graphs = TorchGraphs(ReactionModel(c).eval())
    rng = np.random.default_rng(0)
    clip = ClipFeatures("c0", "s0", rng.uniform(0, 1, (40, 25)).astype(np.float32),
                        rng.normal(0, 1, (40, c.audio_dim)).astype(np.float32), np.zeros((40, 25), np.float32))
    mean = SamplingConfig(steps=2, temperature=0.0)
    made = offline_predictions(graphs, [clip], samples=5, seed=3, sampling=mean)["c0"]
    assert made.shape[0] == 5 and np.abs(made - made[:1]).max() == 0
    from react_ros.evaluation.pipeline import input_seed

    every = generate_offline(WindowGenerator(graphs, mean), clip.visual, clip.audio, 5, input_seed(3, "c0"))
    np.testing.assert_allclose(made, every, atol=1e-6)


def test_temperature_zero_of_a_mean_latent_model_decodes_the_zero_latent_without_the_diffusion_stage():
    """model.mean_latent (issue 26): the zero latent decodes to the model's mean reaction, so temperature 0 is that
    reaction, with no condition or denoiser call; any other temperature samples a latent from the diffusion stage.
    A model without it keeps the diffusion stage's answer to zero noise (its mode)."""
    import dataclasses

    class Counting(AnalyticGraphs):
        def __init__(self, config):
            super().__init__(data_std=0.5)
            self.config = config
            self.conditions = 0

        def condition(self, *args):
            self.conditions += 1
            return super().condition(*args)

    noise = np.random.default_rng(3).standard_normal((4, 25))
    mean_latent = Counting(dataclasses.replace(CONFIG, mean_latent=True))
    assert np.abs(_generate(mean_latent, noise, temperature=0.0)).max() == 0  # the zero latent, decoded
    assert mean_latent.conditions == 0  # no diffusion stage at all
    sampled = _generate(mean_latent, noise, temperature=0.5)
    assert mean_latent.conditions == 1 and np.abs(sampled).max() > 0.1
    plain = Counting(CONFIG)
    np.testing.assert_allclose(_generate(plain, noise, temperature=0.0), np.broadcast_to(MU_CONDITIONAL, (4, 25)),
                               atol=1e-4)  # the mode of N(mu, 0.5^2)
