"""The strongest simple answers to "what does the listener do", as reference rows beside a model (issue 26).

Deterministic predictors of the listener from the speaker alone, fitted on a data set's training split, robot's
direction, each amplitude matched (deviations from the training listeners' mean stretched, per attribute, to
their spread over time: squared errors answer an uncertain listener with a flattened average, and CCC counts
flatness against it):
- linear filter: each attribute from its own last 48 speaker values at lags of at least the model's window
  (8 frames: a window's last frame is generated before the speaker frames after its first are seen);
- cross-attribute ridge: every attribute from every speaker attribute at lags 8, 10, ... 48;
- MLP: the same inputs, 2 x 256 with dropout, early stopping on the validation split.
A generative model that one of these beats at temperature 0 has not learned what the speaker tells about the
listener; `benchmarks/copy_headroom.py` adds what diversity costs on top of them."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from react_ros import schema

TAPS = 48
MIN_LAG = 8
CROSS_LAGS = range(MIN_LAG, TAPS + 1, 2)
FILTER, RIDGE, MLP = "linear filter", "cross-attribute ridge", "MLP"
BEST = "Best deterministic"

Predictor = Callable[[np.ndarray], np.ndarray]  # speaker (L, 25) -> listener (L, 25)


def lagged(speaker: np.ndarray) -> np.ndarray:
    """(L, 25) -> (L, lags, 25): the speaker at lags MIN_LAG..TAPS, the first frame held before the start."""
    from react_ros.metrics.mimicry import delayed_copy

    return np.stack([delayed_copy(speaker, lag) for lag in range(MIN_LAG, TAPS + 1)], axis=1)


def fit_filter(train) -> list[np.ndarray]:
    """Per attribute, ridge weights over its own lagged values (+ a bias). train: TestInputs (speaker, listener)."""
    weights = []
    for d in range(train[0].speaker.shape[1]):
        x = np.concatenate([lagged(t.speaker)[:, :, d] for t in train])
        x = np.c_[x, np.ones(len(x))]
        y = np.concatenate([t.listener[:, d] for t in train])
        weights.append(np.linalg.solve(x.T @ x + 1e-2 * np.eye(x.shape[1]), x.T @ y))
    return weights


def apply_filter(weights: list[np.ndarray], speaker: np.ndarray) -> np.ndarray:
    lags = lagged(speaker)
    return np.stack([np.c_[lags[:, :, d], np.ones(len(speaker))] @ w for d, w in enumerate(weights)], axis=1)


def amplitude_ratio(train, fitted: list[np.ndarray]) -> np.ndarray:
    """(25,): per attribute, the training listeners' spread over time over that of a predictor's answers to their
    speakers (`fitted`, one per training clip): the stretch that makes the predictor as lively as they are."""
    return np.mean([t.listener.std(0) for t in train], 0) / np.maximum(np.mean([f.std(0) for f in fitted], 0), 1e-6)


def cross_features(speaker: np.ndarray) -> np.ndarray:
    """(L, 25) -> (L, 25 * lags): every speaker attribute at lags 8, 10, ... 48."""
    from react_ros.metrics.mimicry import delayed_copy

    return np.concatenate([delayed_copy(speaker, lag) for lag in CROSS_LAGS], axis=1)


def fit_nonlinear(train, val, epochs: int = 60) -> dict[str, Predictor]:
    """{RIDGE: predict, MLP: predict}, fitted on `train` (the MLP stopped early on `val`)."""
    import torch

    torch.manual_seed(0)
    x = np.concatenate([cross_features(t.speaker) for t in train])
    y = np.concatenate([t.listener for t in train])
    mean, std, centre = x.mean(0), x.std(0) + 1e-6, y.mean(0)
    a = np.c_[(x - mean) / std, np.ones(len(x))]
    ridge = np.linalg.solve(a.T @ a + 1e3 * np.eye(a.shape[1]), a.T @ y)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.SiLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(256, 256), torch.nn.SiLU(), torch.nn.Dropout(0.2), torch.nn.Linear(256, 25))
    optimiser = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-2)
    inputs = torch.tensor((x - mean) / std, dtype=torch.float32)
    targets = torch.tensor(y - centre, dtype=torch.float32)
    val_inputs = torch.tensor((np.concatenate([cross_features(t.speaker) for t in val]) - mean) / std,
                              dtype=torch.float32)
    val_targets = torch.tensor(np.concatenate([t.listener for t in val]) - centre, dtype=torch.float32)
    scale = targets.std(0) + 1e-3  # every attribute counts, as in CCC
    best, kept = float("inf"), None
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(inputs))
        for start in range(0, len(order), 256):
            batch = order[start:start + 256]
            loss = (((net(inputs[batch]) - targets[batch]) / scale) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            val_loss = float((((net(val_inputs) - val_targets) / scale) ** 2).mean())
        if val_loss < best:
            best, kept = val_loss, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(kept)

    def mlp(speaker: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.tensor((cross_features(speaker) - mean) / std, dtype=torch.float32)).numpy() + centre

    return {RIDGE: lambda speaker: np.c_[(cross_features(speaker) - mean) / std, np.ones(len(speaker))] @ ridge,
            MLP: mlp}


def fit_predictors(train, val, nonlinear: bool = True, epochs: int = 60) -> dict[str, Predictor]:
    """name -> amplitude-matched predictor, each fitted on `train` (TestInputs of the training split, one real
    reaction each) and `val` (the MLP's early stopping)."""
    weights = fit_filter(train)
    raw: dict[str, Predictor] = {FILTER: lambda speaker: apply_filter(weights, speaker)}
    if nonlinear:
        raw.update(fit_nonlinear(train, val, epochs))
    centre = np.concatenate([t.listener for t in train]).mean(0)
    matched = {}
    for name, predict in raw.items():
        gains = amplitude_ratio(train, [predict(t.speaker) for t in train])
        matched[name] = (lambda p, g: lambda speaker: schema.clip_to_range(centre + g * (p(speaker) - centre)))(
            predict, gains)
    return matched


def deterministic_scores(root, tests: Sequence, samples: int = 10, direction: str = "speaker->listener",
                         nonlinear: bool = True) -> dict[str, dict[str, float]]:
    """Each predictor's REACT metrics on `tests` (its one answer repeated `samples` times, as delayed mimicry is),
    and BEST: the row of the one with the highest FRCorr/pred, named in its `predictor` key."""
    from react_ros.data.protocol import test_ground_truths
    from react_ros.metrics.evaluate import evaluate_ragged

    train = test_ground_truths(root, "train", count=1, directions=direction)
    val = test_ground_truths(root, "val", count=1, directions=direction) or train
    rows = {}
    for name, predict in fit_predictors(train, val, nonlinear).items():
        preds = [np.repeat(predict(t.speaker)[None].astype(np.float32), samples, axis=0) for t in tests]
        rows[name] = evaluate_ragged(preds, [t.gts for t in tests], [t.speaker for t in tests], progress=False)
    best = max(rows, key=lambda name: rows[name]["FRCorr_per_pred"])
    return {**{f"{name}, amplitude matched": row for name, row in rows.items()},
            BEST: {**rows[best], "predictor": best}}
