"""The noise schedules and the samplers' arithmetic, pinned against the published definitions written out
independently here (survivors of the first mutation run of model/diffusion.py, docs/mutation.md):
the cosine schedule of Nichol & Dhariwal (2021), DDPM's linear betas, trailing timestep spacing, DDIM's
deterministic trajectory and DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from react_ros.model.diffusion import DDIMSampler, DPMSolverSampler, NoiseSchedule, _spaced

T = 1000


def test_cosine_schedule_is_nichol_and_dhariwal():
    ac = NoiseSchedule(T, "cosine").alphas_cumprod()
    assert ac.shape == (T,)

    def f(t: float) -> float:
        return math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

    for t in (0, 1, 100, 500, 900):  # index t is the noise level after t + 1 steps: abar = f(t + 1) / f(0)
        assert ac[t] == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert np.all(np.diff(ac) < 0) and ac[0] > 0.9999 and ac[-1] < 1e-6  # from almost clean to almost noise


def test_linear_schedule_is_ddpm():
    ac = NoiseSchedule(T, "linear").alphas_cumprod()
    betas = [1e-4 + (0.02 - 1e-4) * k / (T - 1) for k in range(T)]
    assert ac.shape == (T,)
    assert ac[0] == pytest.approx(1 - 1e-4, rel=1e-12)
    assert ac[-1] == pytest.approx(math.prod(1 - b for b in betas), rel=1e-9)
    with pytest.raises(ValueError, match="unknown noise schedule"):
        NoiseSchedule(T, "quadratic").alphas_cumprod()


def test_timesteps_run_from_the_noisiest_to_zero_evenly():
    assert _spaced(T, 4) == [999, 666, 333, 0]
    assert DDIMSampler(NoiseSchedule(T), 4).timesteps == [999, 666, 333, 0]
    assert DPMSolverSampler(NoiseSchedule(T), 3).timesteps == [999, 666, 333]  # its last point, 0, is the target


@pytest.mark.parametrize("cls", [DDIMSampler, DPMSolverSampler])
def test_one_step_is_allowed_and_zero_is_not(cls):
    assert cls(NoiseSchedule(T), 1).steps == 1
    with pytest.raises(ValueError, match="steps"):
        cls(NoiseSchedule(T), 0)


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_ddim_walks_the_deterministic_trajectory_of_its_noise(steps):
    """With the exact clean latent predicted, deterministic DDIM visits x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
    at every one of its timesteps, with the eps of the starting noise, and ends on x0."""
    rng = np.random.default_rng(0)
    x0, x_start = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    schedule = NoiseSchedule(T)
    ac = schedule.alphas_cumprod()
    sampler = DDIMSampler(schedule, steps)
    first = sampler.timesteps[0]
    eps = (x_start - math.sqrt(ac[first]) * x0) / math.sqrt(1 - ac[first])
    seen = []

    def predict_x0(x, t):
        seen.append((t, x.copy()))
        return x0

    out = sampler.sample(predict_x0, x_start)
    assert [t for t, _ in seen] == [float(t) for t in sampler.timesteps]
    for t, x in seen:
        np.testing.assert_allclose(x, math.sqrt(ac[int(t)]) * x0 + math.sqrt(1 - ac[int(t)]) * eps, atol=1e-9)
    np.testing.assert_allclose(out, x0, atol=1e-9)


def _dpm_solver_pp_2m(ac: np.ndarray, points: list[int], predict_x0, x):
    """DPM-Solver++(2M) as written in Lu et al. (2022), Algorithm 2, in float64."""
    alpha = [math.sqrt(ac[t]) for t in points]
    sigma = [math.sqrt(1 - ac[t]) for t in points]
    lam = [math.log(a / s) for a, s in zip(alpha, sigma, strict=True)]
    previous = None
    for i in range(len(points) - 1):
        x0 = predict_x0(x, float(points[i]))
        h = lam[i + 1] - lam[i]
        if previous is None:
            d = x0
        else:
            r = (lam[i] - lam[i - 1]) / h
            d = (1 + 1 / (2 * r)) * x0 - 1 / (2 * r) * previous
        x = sigma[i + 1] / sigma[i] * x - alpha[i + 1] * (math.exp(-h) - 1) * d
        previous = x0
    return x


@pytest.mark.parametrize("steps", [1, 2, 4, 7])
def test_dpm_solver_is_dpm_solver_pp_2m(steps):
    """A clean-latent prediction that depends on x and t, so the second-order term matters."""
    rng = np.random.default_rng(1)
    x_start = rng.normal(size=(2, 6))

    def predict_x0(x, t):
        return np.tanh(x) * (1 + t / T) + 0.3 * t / T

    schedule = NoiseSchedule(T)
    expected = _dpm_solver_pp_2m(schedule.alphas_cumprod(), _spaced(T, steps + 1), predict_x0, x_start)
    np.testing.assert_allclose(DPMSolverSampler(schedule, steps).sample(predict_x0, x_start), expected, rtol=1e-10,
                               atol=1e-12)
