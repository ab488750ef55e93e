"""Fitting the model's mean path (speaker_path: mean, model/autoencoder.MeanPath) by least squares, before the
autoencoder trains.

Two linear answers to "what does the listener do in the next window, given the speaker's last S frames", each
per window frame, in the schema's ranges:
- the channel filter: each attribute from that attribute's own S values (+ a bias); it wins where listeners copy
  a channel at their own delay (mirror, partial, lookaway, dialogue: docs/model.md);
- the cross ridge: every attribute from every speaker attribute at every `cross_stride`-th frame, on standardised
  inputs, its ridge strength chosen on the validation windows; it wins where listeners answer one channel with
  another (default, backchannel).
Then per listener attribute the blend of the two (0, 0.25, ... 1) with the least squared error on the validation
windows. The blend is linear, so the result is one (S*d, w*d) matrix and a bias: one MatMul in the exported
decode graph."""
from __future__ import annotations

import numpy as np
import torch

from react_ros.model.config import speaker_skip_inputs

BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)
CROSS_RIDGES = (1e0, 1e1, 1e2, 1e3, 1e4)


def _windows(sampler, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, S, d) speaker frames as decode sees them (0 where absent) and (N, w, d) target windows, from windows
    that see all S speaker frames (an absent frame reads 0, an extreme in ranges: a fit on the few clip starts
    that have them would shrink every weight toward the bias)."""
    batch = sampler.batch(count, None)
    skip = speaker_skip_inputs(sampler.config, batch)
    speaker = skip["speaker"] * skip["speaker_present"][..., None]
    full = skip["speaker_present"].astype(bool).all(axis=1)
    if full.sum() >= 256:
        speaker, window = speaker[full], batch["window"][full]
    else:
        window = batch["window"]
    return speaker.astype(np.float64), window.astype(np.float64)


def _solve(a: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Ridge solution of a @ x = y; the last column of `a` is the (unpenalised) bias."""
    penalty = ridge * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    return np.linalg.solve(a.T @ a + penalty, a.T @ y)


def fit_channel_filter(speaker: np.ndarray, window: np.ndarray, ridge: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """(N,S,d), (N,w,d) -> the filter as a dense map: weight (S*d, w*d), bias (w*d,)."""
    n, s, d = speaker.shape
    w = window.shape[1]
    weight = np.zeros((s, d, w, d))
    bias = np.zeros((w, d))
    for attribute in range(d):
        a = np.c_[speaker[:, :, attribute], np.ones(n)]
        solution = _solve(a, window[:, :, attribute], ridge)  # (S+1, w)
        weight[:, attribute, :, attribute] = solution[:s]
        bias[:, attribute] = solution[s]
    return weight.reshape(s * d, w * d), bias.reshape(w * d)


def fit_cross_ridge(speaker: np.ndarray, window: np.ndarray, ridge: float, stride: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(N,S,d), (N,w,d) -> every window value from every attribute at every `stride`-th speaker frame (the newest
    included), inputs standardised, folded back into a dense map on the raw frames: weight (S*d, w*d), bias."""
    n, s, d = speaker.shape
    w = window.shape[1]
    frames = np.arange(s - 1, -1, -stride)[::-1]
    x = speaker[:, frames].reshape(n, -1)
    mean, std = x.mean(0), x.std(0) + 1e-6
    a = np.c_[(x - mean) / std, np.ones(n)]
    solution = _solve(a, window.reshape(n, w * d), ridge)  # (F+1, w*d)
    scaled = solution[:-1] / std[:, None]
    weight = np.zeros((s, d, w * d))
    weight[frames] = scaled.reshape(len(frames), d, w * d)
    bias = solution[-1] - mean @ scaled
    return weight.reshape(s * d, w * d), bias


def _error(weight: np.ndarray, bias: np.ndarray, speaker: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Mean squared error per listener attribute (d,) of a dense map on windows."""
    n, w, d = window.shape
    predicted = (speaker.reshape(n, -1) @ weight + bias).reshape(n, w, d)
    return ((predicted - window) ** 2).mean(axis=(0, 1))


def fit_mean_path(train_sampler, val_sampler, windows: int = 16384, val_windows: int = 4096, cross_stride: int = 1
                  ) -> tuple[np.ndarray, np.ndarray, dict]:
    """The mean path's weight (S*d, w*d) and bias (w*d,), and a report (validation errors, chosen ridge, blends)."""
    speaker, window = _windows(train_sampler, windows)
    val_speaker, val_window = _windows(val_sampler, val_windows)
    d = window.shape[2]
    channel = fit_channel_filter(speaker, window)
    channel_error = _error(*channel, val_speaker, val_window)
    crosses = {ridge: fit_cross_ridge(speaker, window, ridge, cross_stride) for ridge in CROSS_RIDGES}
    cross_errors = {ridge: _error(*fit, val_speaker, val_window) for ridge, fit in crosses.items()}
    ridge = min(cross_errors, key=lambda r: float(cross_errors[r].mean()))
    cross = crosses[ridge]
    # per listener attribute, the blend of the two maps with the least validation error
    columns = np.arange(window.shape[1] * d) % d  # the attribute of each output column
    best_blend, best_error = np.zeros(d), np.full(d, np.inf)
    for blend in BLENDS:
        error = _error(blend * cross[0] + (1 - blend) * channel[0], blend * cross[1] + (1 - blend) * channel[1],
                       val_speaker, val_window)
        better = error < best_error
        best_blend[better], best_error[better] = blend, error[better]
    per_column = best_blend[columns]
    weight = per_column * cross[0] + (1 - per_column) * channel[0]
    bias = per_column * cross[1] + (1 - per_column) * channel[1]
    variance = val_window.reshape(-1, d).var(axis=0)
    report = {"cross_ridge": ridge, "blend_cross": best_blend.round(2).tolist(),
              "val_explained_channel": float(1 - (channel_error / np.maximum(variance, 1e-9)).mean()),
              "val_explained_cross": float(1 - (cross_errors[ridge] / np.maximum(variance, 1e-9)).mean()),
              "val_explained_mean_path": float(1 - (best_error / np.maximum(variance, 1e-9)).mean())}
    return weight, bias, report


@torch.no_grad()
def install_mean_path(model, train_sampler, val_sampler) -> dict:
    """Fit the mean path and write it into the model's frozen MeanPath; returns the fit's report."""
    weight, bias, report = fit_mean_path(train_sampler, val_sampler)
    path = model.autoencoder.speaker_path
    path.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
    path.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    path.requires_grad_(False)
    return report
