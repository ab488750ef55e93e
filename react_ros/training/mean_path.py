"""Fitting the model's mean path (speaker_path: mean, model/autoencoder.MeanPath) by least squares, before the
autoencoder trains.

Two linear answers to "what does the listener do in the next window, given the speaker's last S frames", each
per window frame, in the schema's ranges:
- the channel filter: each attribute from that attribute's own S values (+ a bias); it wins where listeners copy
  a channel at their own delay (mirror, partial, lookaway, dialogue: docs/model.md). Per listener attribute the
  better on validation of two fits: one filter over lags shared by every window frame (a copy at a delay is the
  same copy at every frame: eight times the examples per weight, which is what wins where few listeners copy a
  channel, partial: +0.015 FRCorr/pred on its test split) or one per window frame (each frame uses the lags it
  has: a copy faster than the window);
- the cross ridge: every attribute from every speaker attribute at every `cross_stride`-th frame, on standardised
  inputs, its ridge strength chosen on the validation windows; it wins where listeners answer one channel with
  another (default, backchannel).
Then per listener attribute the blend of the two (0, 0.25, ... 1) that agrees best (correlation) with the
validation windows. The blend is linear, so the result is one (S*d, w*d) matrix and a bias: one MatMul in the exported
decode graph. Attributes named in `own_only` (e.g. valence and arousal) take the channel filter alone, and no
MLP: see TrainConfig.mean_own_only (not in the recipe: docs/model.md). Attributes named in `linear_only` keep both
linear answers but no MLP (TrainConfig.mean_linear_only).
With `attribute_dropout` p, both cross-attribute fits (the cross ridge and the MLP) are fitted as if each speaker
attribute were, at random, unknown (read as its average: all its frames at once, probability p). Where the speaker's
attributes move together (synthetic speakers, and any front end that derives one from another) least squares
otherwise answers with a balance of collinear inputs whose signs a face outside the data contradicts; with the
dropout each attribute's weights must also answer alone, which keeps them to its own sign (docs/model.md, check 5).
For the linear fit the dropout is exact in expectation: the ridge gains p/(1-p) * sum_a |X_a w_a|^2.
With model.mean_hidden, an MLP (every attribute at every 2nd speaker frame; dropout and weight decay, stopped
early on the validation windows, as the MLP reference of evaluation/deterministic.py) is then fitted on what the
linear map leaves, and kept per window value at the fraction (0, 0.25, ... 1) that helps most on validation: where
listeners answer nonlinearly (default, backchannel) it adds what least squares cannot draw, elsewhere it is 0."""
from __future__ import annotations

import numpy as np
import torch

from react_ros.model.config import speaker_skip_inputs

BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)
CROSS_RIDGES = (1e0, 1e1, 1e2, 1e3, 1e4)
# The MLP trains until validation stops improving, not for a fixed count: a 40-epoch budget stopped it while it
# still improved where listeners answer nonlinearly (default and backchannel kept epoch 37-38 of 40; now 69 and
# 99, their mean answers 0.580 -> 0.584 and 0.218 -> 0.233 FRCorr/pred, docs/model.md). Where it had stopped
# improving (the other five families: best epoch 6-29) the fit is the same as before.
MEAN_NET_EPOCHS, MEAN_NET_PATIENCE = 400, 20


def _windows(sampler, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, S, d) speaker frames as decode sees them (0 where absent), (N, w, d) target windows and (N,) the role
    each answers in, from windows that see all S speaker frames (an absent frame reads 0, an extreme in ranges: a
    fit on the few clip starts that have them would shrink every weight toward the bias)."""
    batch = sampler.batch(count, None)
    skip = speaker_skip_inputs(sampler.config, batch)
    speaker = skip["speaker"] * skip["speaker_present"][..., None]
    window, role = batch["window"], batch["role"]
    full = skip["speaker_present"].astype(bool).all(axis=1)
    if full.sum() >= 256:
        speaker, window, role = speaker[full], window[full], role[full]
    return speaker.astype(np.float64), window.astype(np.float64), role.astype(int)


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


def fit_shared_filter(speaker: np.ndarray, window: np.ndarray, ridge: float = 1e-2
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(N,S,d), (N,w,d) -> per attribute one filter over lags 1..S of its own speaker values, shared by every window
    frame (frame k sees context frame j at lag S - j + k, so it uses lags k+1..S; a lag it cannot see reads the
    speaker's mean, folded into that frame's bias), as a dense map: weight (S*d, w*d), bias (w*d,)."""
    n, s, d = speaker.shape
    w = window.shape[1]
    lags = np.arange(1, s + 1)
    weight = np.zeros((s, d, w, d))
    bias = np.zeros((w, d))
    for attribute in range(d):
        values = speaker[:, :, attribute]
        mean = values.mean()
        rows = []
        for k in range(w):
            context = s - lags + k  # the context frame that lag L is for window frame k
            seen = context < s
            x = np.zeros((n, len(lags)))
            x[:, seen] = values[:, context[seen]] - mean
            rows.append(x)
        a = np.c_[np.concatenate(rows), np.ones(n * w)]
        solution = _solve(a, window[:, :, attribute].T.reshape(-1), ridge)  # (lags+1,), rows frame-major
        for k in range(w):
            context = s - lags + k
            seen = context < s
            weight[context[seen], attribute, k, attribute] = solution[:-1][seen]
            bias[k, attribute] = solution[-1] - mean * solution[:-1][seen].sum()
    return weight.reshape(s * d, w * d), bias.reshape(w * d)


def _per_attribute(choose: np.ndarray, first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The dense map that takes each listener attribute's columns from `second` where `choose` (d,) is true."""
    d = len(choose)
    columns = choose[np.arange(first[1].shape[0]) % d]
    return np.where(columns, second[0], first[0]), np.where(columns, second[1], first[1])


def fit_cross_ridge(speaker: np.ndarray, window: np.ndarray, ridge: float, stride: int,
                    attribute_dropout: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(N,S,d), (N,w,d) -> every window value from every attribute at every `stride`-th speaker frame (the newest
    included), inputs standardised, folded back into a dense map on the raw frames: weight (S*d, w*d), bias.
    attribute_dropout: the expected least squares when each attribute's frames are dropped together (module doc)."""
    n, s, d = speaker.shape
    w = window.shape[1]
    frames = np.arange(s - 1, -1, -stride)[::-1]
    x = speaker[:, frames].reshape(n, -1)
    mean, std = x.mean(0), x.std(0) + 1e-6
    a = np.c_[(x - mean) / std, np.ones(n)]
    gram = a.T @ a
    penalty = ridge * np.eye(a.shape[1])
    penalty[-1, -1] = 0.0
    if attribute_dropout > 0:
        attribute = np.arange(len(frames) * d) % d  # columns are frame-major, attribute-minor
        same = attribute[:, None] == attribute[None, :]
        penalty[:-1, :-1] += attribute_dropout / (1 - attribute_dropout) * np.where(same, gram[:-1, :-1], 0.0)
    solution = np.linalg.solve(gram + penalty, a.T @ window.reshape(n, w * d))  # (F+1, w*d)
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


def _agreement(weight: np.ndarray, bias: np.ndarray, speaker: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Correlation per listener attribute (d,) of a dense map's windows with the real ones, pooled over windows and
    frames. Correlation, not the REACT metrics' concordance: the amplitude calibration stretches each attribute to
    the real listeners' spread afterwards, so a choice by concordance favours the livelier map for a spread the
    stretch gives anyway (on partial, where few listeners copy each channel, it chose the cross ridge for 14
    attributes and cost the mean answer 0.007 FRCorr/pred on the test split)."""
    n, w, d = window.shape
    predicted = (speaker.reshape(n, -1) @ weight + bias).reshape(-1, d)
    real = window.reshape(-1, d)
    covariance = ((predicted - predicted.mean(0)) * (real - real.mean(0))).mean(0)
    return covariance / np.sqrt(predicted.var(0) * real.var(0) + 1e-12)


def fit_mean_path(speaker: np.ndarray, window: np.ndarray, val_speaker: np.ndarray, val_window: np.ndarray,
                  cross_stride: int = 1, own_only: tuple[int, ...] = (), attribute_dropout: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray, dict]:
    """The mean path's linear weight (S*d, w*d) and bias (w*d,), and a report (validation errors, chosen ridge,
    blends), from (N,S,d) speaker frames and (N,w,d) windows of the training split and the same of validation.
    The listener attributes in `own_only` are read from their own past only (the channel filter, blend 0);
    `attribute_dropout`: module doc."""
    d = window.shape[2]
    per_frame, shared = fit_channel_filter(speaker, window), fit_shared_filter(speaker, window)
    use_shared = _agreement(*shared, val_speaker, val_window) >= _agreement(*per_frame, val_speaker, val_window)
    channel = _per_attribute(use_shared, per_frame, shared)
    channel_error = _error(*channel, val_speaker, val_window)
    crosses = {ridge: fit_cross_ridge(speaker, window, ridge, cross_stride, attribute_dropout)
               for ridge in CROSS_RIDGES}
    cross_errors = {ridge: _error(*fit, val_speaker, val_window) for ridge, fit in crosses.items()}
    ridge = min(cross_errors, key=lambda r: float(cross_errors[r].mean()))
    cross = crosses[ridge]
    # per listener attribute, the blend of the two maps that agrees best (correlation, see _agreement) with the
    # validation windows (least squares' own error favoured the flatter blend: -0.01 FRCorr)
    columns = np.arange(window.shape[1] * d) % d  # the attribute of each output column
    own = list(own_only)
    may_cross = np.ones(d, bool)
    may_cross[own] = False  # own_only attributes keep the channel filter (blend 0, the first tried)
    best_blend, best_agreement = np.zeros(d), np.full(d, -np.inf)
    for blend in BLENDS:
        agreement = _agreement(blend * cross[0] + (1 - blend) * channel[0],
                               blend * cross[1] + (1 - blend) * channel[1], val_speaker, val_window)
        better = (agreement > best_agreement) & (may_cross | (blend == 0.0))
        best_blend[better], best_agreement[better] = blend, agreement[better]
    per_column = best_blend[columns]
    weight = per_column * cross[0] + (1 - per_column) * channel[0]
    bias = per_column * cross[1] + (1 - per_column) * channel[1]
    variance = val_window.reshape(-1, d).var(axis=0)
    report = {"cross_ridge": ridge, "blend_cross": best_blend.round(2).tolist(),
              "channel_filter_shared": use_shared.astype(int).tolist(),
              "val_explained_channel": float(1 - (channel_error / np.maximum(variance, 1e-9)).mean()),
              "val_explained_cross": float(1 - (cross_errors[ridge] / np.maximum(variance, 1e-9)).mean()),
              "val_explained_mean_path": float(1 - (_error(weight, bias, val_speaker, val_window)
                                                    / np.maximum(variance, 1e-9)).mean()),
              "val_corr_mean_path": float(best_agreement.mean()), "own_only": own,
              "attribute_dropout": attribute_dropout}
    return weight, bias, report


def fit_mean_net(path, speaker: np.ndarray, window: np.ndarray, val_speaker: np.ndarray, val_window: np.ndarray,
                 epochs: int = MEAN_NET_EPOCHS, batch: int = 256, seed: int = 0, linear_only: tuple[int, ...] = (),
                 attribute_dropout: float = 0.0, patience: int = MEAN_NET_PATIENCE) -> dict:
    """Fit `path`'s MLP (a MeanPath whose linear map is already installed) on the linear map's residual, in place:
    inputs standardised, each output scaled by the residual's spread (every attribute counts), trained until the
    validation error has not improved for `patience` epochs (at most `epochs`) and the epoch with the least kept,
    then each output's gain (BLENDS) chosen on validation; the listener attributes in
    `linear_only` get gain 0 (the MLP still reads every speaker attribute); `attribute_dropout`: each speaker attribute's inputs
    dropped together while fitting (module doc). Returns a report. The fit draws from its own seeded random
    stream and leaves torch's global one as it found it (training's per-process noise goes on from there)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _fit_mean_net(path, speaker, window, val_speaker, val_window, epochs, batch, linear_only,
                             attribute_dropout, patience)


def _fit_mean_net(path, speaker, window, val_speaker, val_window, epochs, batch, linear_only, attribute_dropout,
                  patience) -> dict:
    as_tensor = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    x, vx = as_tensor(speaker), as_tensor(val_speaker)
    with torch.no_grad():
        linear, val_linear = path(x), path(vx)  # the gain is still 0: the linear map alone
    target, val_target = as_tensor(window).flatten(1) - linear, as_tensor(val_window).flatten(1) - val_linear
    inputs = path.net_inputs(x)
    path.input_mean.copy_(inputs.mean(0))
    path.input_std.copy_(inputs.std(0) + 1e-6)
    inputs, val_inputs = path.net_inputs(x), path.net_inputs(vx)
    scale = target.std(0) + 1e-3
    net = path.net
    net.requires_grad_(True)
    # dropout between the layers while fitting only: the exported net is the plain Sequential
    dropout = torch.nn.Dropout(0.2)
    layers = list(net)
    d = window.shape[2]

    def forward(values, train: bool):
        if train and attribute_dropout > 0:  # an attribute's frames together: columns are frame-major
            keep = (torch.rand(len(values), d) >= attribute_dropout).to(values.dtype) / (1 - attribute_dropout)
            values = values * keep.repeat(1, values.shape[1] // d)
        for layer in layers:
            values = layer(values)
            if train and isinstance(layer, torch.nn.SiLU):
                values = dropout(values)
        return values

    optimiser = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-2)
    best, kept, best_epoch = float("inf"), None, 0
    for epoch in range(epochs):
        order = torch.randperm(len(inputs))
        for start in range(0, len(order), batch):
            rows = order[start:start + batch]
            loss = (((forward(inputs[rows], True) - target[rows]) / scale) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            val_loss = float((((forward(val_inputs, False) - val_target) / scale) ** 2).mean())
        if val_loss < best:
            best, best_epoch, kept = val_loss, epoch, {k: v.clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    net.load_state_dict(kept)
    net.requires_grad_(False)
    with torch.no_grad():
        predicted = net(val_inputs)
        errors = torch.stack([((blend * predicted - val_target) ** 2).mean(0) for blend in BLENDS])  # (blends, w*d)
        choice = errors.argmin(0)
        choice[np.isin(np.arange(choice.numel()) % d, list(linear_only))] = BLENDS.index(0.0)
        gain = torch.as_tensor(BLENDS, dtype=torch.float32)[choice]
        path.gain.copy_(gain)
        left = float(1 - (errors.gather(0, choice[None])[0] / val_target.var(0).clamp_min(1e-9)).mean())
    return {"net_best_epoch": best_epoch, "net_epochs": epoch + 1, "net_gain": gain.reshape(-1, d).mean(0).round(decimals=2).tolist(),
            "net_val_explained_of_linear_residual": left}


@torch.no_grad()
def install_mean_path(model, train_sampler, val_sampler, own_only: tuple[int, ...] = (),
                      attribute_dropout: float = 0.0, linear_only: tuple[int, ...] = ()) -> dict:
    """Fit the mean path and write it into the model's frozen MeanPath; returns the fit's report. A
    role-conditioned model (model.config.roles = 2) gets one per role, each fitted on its role's windows only (a
    listener's answer to a speaker and a speaker's to a listener are two laws); the report of the second is under
    "speaker_role". `own_only`: the listener attributes read from their own past only (fit_mean_path);
    `attribute_dropout`: module doc; `linear_only`: the listener attributes the MLP does not answer."""
    speaker, window, role = _windows(train_sampler, 16384)
    val_speaker, val_window, val_role = _windows(val_sampler, 4096)
    autoencoder = model.autoencoder
    if autoencoder.speaker_role_path is None:
        return _install(autoencoder.speaker_path, speaker, window, val_speaker, val_window, own_only,
                        attribute_dropout, linear_only)
    reports = []
    for index, path in enumerate((autoencoder.speaker_path, autoencoder.speaker_role_path)):
        rows, val_rows = role == index, val_role == index
        if rows.sum() < 256 or val_rows.sum() < 64:
            raise ValueError(f"a role-conditioned model needs windows of both roles: {int(rows.sum())} training and "
                             f"{int(val_rows.sum())} validation windows answer in role {index} (train with "
                             "directions: both)")
        reports.append(_install(path, speaker[rows], window[rows], val_speaker[val_rows], val_window[val_rows],
                                own_only, attribute_dropout, linear_only))
    return {**reports[0], "speaker_role": reports[1]}


@torch.no_grad()
def _install(path, speaker, window, val_speaker, val_window, own_only: tuple[int, ...] = (),
             attribute_dropout: float = 0.0, linear_only: tuple[int, ...] = ()) -> dict:
    """Fit one MeanPath on these windows and freeze it; returns the fit's report. Neither an own_only nor a
    linear_only attribute gets the MLP."""
    weight, bias, report = fit_mean_path(speaker, window, val_speaker, val_window, own_only=own_only,
                                         attribute_dropout=attribute_dropout)
    path.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
    path.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    path.fill.copy_(torch.as_tensor(speaker.reshape(-1, speaker.shape[-1]).mean(0), dtype=torch.float32))
    path.requires_grad_(False)
    if path.net is not None:
        with torch.enable_grad():
            no_net = tuple(sorted(set(own_only) | set(linear_only)))
            report.update(fit_mean_net(path, speaker, window, val_speaker, val_window, linear_only=no_net,
                                       attribute_dropout=attribute_dropout))
            report["linear_only"] = list(no_net)
    return report
