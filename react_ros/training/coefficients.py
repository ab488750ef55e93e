"""Fit the 3DMM coefficient head (model/coefficient_head.py) on a MARS-layout data set that has coefficients.

Every person of the training split (speakers and listeners: how attributes map to coefficients is a property of
faces, not of roles) gives frames (lagged attributes -> coefficients); ridge regression, its strength chosen on the
validation split (mean R^2 over the coefficients that vary); the card gets R^2 per group on validation.
`react-ros train` calls `fit_coefficient_head` when the data set has coefficients; `react-ros coefficients fit`
adds a head to a bundle trained before.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.data import layout
from react_ros.data.pairs import DatasetError, scan
from react_ros.data.readers import read_attributes, read_coefficients
from react_ros.model.coefficient_head import CoefficientHead, lagged_design

__all__ = ["GROUPS", "LAGS", "RIDGES", "add_coefficient_head", "fit_coefficient_head", "has_coefficients", "person_sequences", "r2_by_group"]

LAGS = (0, 1, 2, 4, 8, 15)  # frames back: half a second of the reaction's recent course
RIDGES = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
GROUPS = {"expression": schema.COEFFS_EXPRESSION, "rotation": schema.COEFFS_ROTATION,
          "translation": schema.COEFFS_TRANSLATION}


def has_coefficients(root: str | Path, split: str = "train") -> bool:
    directory = Path(root) / split / layout.COEFFICIENTS
    return directory.is_dir() and any(directory.rglob("*" + layout.EXTENSIONS[layout.COEFFICIENTS]))


def person_sequences(root: str | Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every person of a split: ([(L, 25) attributes], [(L, 58) coefficients]), each pair cropped to one length."""
    attributes, coefficients = [], []
    for pair in scan(root, split, require=("attributes", "coefficients")):
        for clip in (pair.speaker, pair.listener):
            x = read_attributes(clip.path(root, layout.ATTRIBUTES))
            y = read_coefficients(clip.path(root, layout.COEFFICIENTS), 0, None)
            if y.ndim != 2 or y.shape[1] != schema.COEFFS_3DMM_DIM:
                raise DatasetError(f"{clip.path(root, layout.COEFFICIENTS)}: expected (frames, "
                                   f"{schema.COEFFS_3DMM_DIM}) 3DMM coefficients, got {y.shape}")
            length = min(len(x), len(y))
            attributes.append(x[:length])
            coefficients.append(y[:length])
    return attributes, coefficients


def _stack(attributes: list[np.ndarray], coefficients: list[np.ndarray], lags) -> tuple[np.ndarray, np.ndarray]:
    design = np.concatenate([lagged_design(x, lags) for x in attributes])
    return design, np.concatenate(coefficients).astype(np.float64)


def r2_by_group(predicted: np.ndarray, real: np.ndarray) -> dict[str, float | None]:
    """R^2 of each coefficient group (1 - SSE / SST over its dims); None for a group that does not vary."""
    out: dict[str, float | None] = {}
    for name, group in GROUPS.items():
        residual = float(((real[:, group] - predicted[:, group]) ** 2).sum())
        total = float(((real[:, group] - real[:, group].mean(0)) ** 2).sum())
        out[name] = None if total <= 1e-12 else round(1.0 - residual / total, 4)
    return out


def _mean_r2(predicted: np.ndarray, real: np.ndarray) -> float:
    """Mean R^2 over the coefficients that vary: every coefficient counts alike, whatever its scale."""
    total = ((real - real.mean(0)) ** 2).sum(0)
    varying = total > 1e-12
    residual = ((real - predicted) ** 2).sum(0)
    return float(np.mean(1.0 - residual[varying] / total[varying]))


def _ridge(design: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    gram = design.T @ design
    penalty = np.eye(len(gram)) * strength * len(design) / 1000.0  # per 1000 frames: the choice is data-size free
    penalty[0, 0] = 0.0  # the bias is not shrunk
    return np.linalg.solve(gram + penalty, design.T @ target)


def fit_coefficient_head(root: str | Path, lags: tuple[int, ...] = LAGS,
                         ridges: tuple[float, ...] = RIDGES) -> CoefficientHead:
    """The head for a data set: fitted on its training split, ridge strength and report from its validation
    split (raises DatasetError when the data set has no coefficients)."""
    train_x, train_y = _stack(*person_sequences(root, "train"), lags)
    val_x, val_y = _stack(*person_sequences(root, "val"), lags)
    fits = {strength: _ridge(train_x, train_y, strength) for strength in ridges}
    scores = {strength: _mean_r2(val_x @ weights, val_y) for strength, weights in fits.items()}
    best = max(scores, key=scores.get)
    weights = _ridge(np.concatenate([train_x, val_x]), np.concatenate([train_y, val_y]), best)
    report = {"lags": list(lags), "ridge": best, "fitted_on": "train + val splits (ridge strength chosen on val)",
              "frames": {"train": len(train_x), "val": len(val_x)},
              "val_r2": r2_by_group(val_x @ fits[best], val_y),
              "val_mean_r2_by_ridge": {str(k): round(v, 4) for k, v in scores.items()}}
    return CoefficientHead(lags, weights, report)


def add_coefficient_head(bundle: str | Path, data: str | Path) -> dict:
    """Fit the head on `data` and add it to a bundle (its file and a `coefficient_head` entry on the card)."""
    from react_ros.model.card import ModelCard

    head = fit_coefficient_head(data)
    head.save(bundle)
    card = ModelCard.read(bundle)
    ModelCard(card.sampling, card.tuned, dict(card.extra, coefficient_head=head.report)).write(bundle)
    return head.report
