"""Noise schedule and samplers, as small objects independent of the network and of the backend.

The network predicts v (Salimans & Ho), which the generator turns into the clean latent x0; samplers
take that "data prediction". Unlike noise prediction it stays accurate at the noisiest step, where
x0 = (x - sqrt(1-a) eps) / sqrt(a) would amplify any error in eps 10^4 times (cosine schedule, a ~ 1e-9),
which matters most for the few-step sampling a robot needs.

The samplers only do `x = a * x + b * x0` with Python-float coefficients precomputed here, so the
same code runs on numpy arrays (ONNX Runtime / TensorRT backends) and on torch tensors (training,
the torch backend and the unrolled export)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# predict_x0(x_t, t) -> predicted clean latent; x_t is (B, latent_dim), t a Python float timestep
PredictX0 = Callable[[object, float], object]


@dataclass(frozen=True)
class NoiseSchedule:
    """alphas_cumprod over `timesteps` training steps (cosine, Nichol & Dhariwal; or linear)."""

    timesteps: int = 1000
    kind: str = "cosine"

    def alphas_cumprod(self) -> np.ndarray:
        t = np.arange(self.timesteps + 1, dtype=np.float64) / self.timesteps
        if self.kind == "cosine":
            f = np.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
            betas = np.clip(1 - f[1:] / f[:-1], 0, 0.999)
        elif self.kind == "linear":
            betas = np.linspace(1e-4, 0.02, self.timesteps)
        else:
            raise ValueError(f"unknown noise schedule {self.kind!r} (cosine, linear)")
        return np.cumprod(1.0 - betas)


def _spaced(timesteps: int, count: int) -> list[int]:
    """`count` timesteps from the noisiest (T-1) down to 0, evenly spaced ("trailing" spacing)."""
    return [int(round(t)) for t in np.linspace(timesteps - 1, 0, count)]


class DDIMSampler:
    """Deterministic DDIM (eta = 0): `steps` network evaluations."""

    name = "ddim"

    def __init__(self, schedule: NoiseSchedule, steps: int):
        if steps < 1:
            raise ValueError("steps must be >= 1")
        ac = schedule.alphas_cumprod()
        self.steps = steps
        self.timesteps = _spaced(schedule.timesteps, steps)
        self.coefficients: list[tuple[float, float]] = []
        for i, t in enumerate(self.timesteps):
            a_t = ac[t]
            a_prev = ac[self.timesteps[i + 1]] if i + 1 < steps else 1.0
            # x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps, with eps = (x - sqrt(a_t) x0) / sqrt(1 - a_t)
            c_x = math.sqrt((1 - a_prev) / (1 - a_t))
            c_x0 = math.sqrt(a_prev) - c_x * math.sqrt(a_t)
            self.coefficients.append((c_x, c_x0))

    def sample(self, predict_x0: PredictX0, x):
        for t, (c_x, c_x0) in zip(self.timesteps, self.coefficients, strict=True):
            x = c_x * x + c_x0 * predict_x0(x, float(t))
        return x


class DPMSolverSampler:
    """DPM-Solver++(2M): a second-order multistep solver in data (x0) prediction; good at 2-10 steps."""

    name = "dpm"

    def __init__(self, schedule: NoiseSchedule, steps: int):
        if steps < 1:
            raise ValueError("steps must be >= 1")
        ac = schedule.alphas_cumprod()
        self.steps = steps
        points = _spaced(schedule.timesteps, steps + 1)
        self.timesteps = points[:-1]
        alpha = [math.sqrt(ac[t]) for t in points]
        sigma = [math.sqrt(1 - ac[t]) for t in points]
        lam = [math.log(a / s) for a, s in zip(alpha, sigma, strict=True)]
        self.plan = []  # per step: the update coefficients and the step ratio for the 2nd-order term
        for i in range(steps):
            h = lam[i + 1] - lam[i]
            r = (lam[i] - lam[i - 1]) / h if i > 0 else None
            self.plan.append({"x": sigma[i + 1] / sigma[i], "d": -alpha[i + 1] * math.expm1(-h), "r": r})

    def sample(self, predict_x0: PredictX0, x):
        previous_x0 = None
        for t, step in zip(self.timesteps, self.plan, strict=True):
            x0 = predict_x0(x, float(t))
            if previous_x0 is None or step["r"] is None:
                d = x0
            else:
                d = (1 + 0.5 / step["r"]) * x0 - (0.5 / step["r"]) * previous_x0
            x = step["x"] * x + step["d"] * d
            previous_x0 = x0
        return x


def x0_from_v(x, v, alpha_cumprod: float):
    """The clean latent from the network's v-prediction: x0 = sqrt(a) x - sqrt(1-a) v. The coefficients are
    rounded to float32 (as Python floats) so numpy arrays stay float32 and a traced torch graph computes
    exactly what the numpy path does."""
    a = float(alpha_cumprod)
    return float(np.float32(math.sqrt(a))) * x - float(np.float32(math.sqrt(1.0 - a))) * v


SAMPLERS = {"ddim": DDIMSampler, "dpm": DPMSolverSampler}


def make_sampler(name: str, schedule: NoiseSchedule, steps: int):
    try:
        return SAMPLERS[name](schedule, steps)
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}") from None
