"""The 3DMM coefficient head: the generated reaction as REACT's 58 3DMM coefficients (FaceVerse layout: 52
expression, 3 rotation, 3 translation; schema.COEFFS_*), beside the 25 attributes.

A causal linear filter on the reaction the model generates: coefficients[t] = [1, r[t], r[t-1], ...] @ W over
the lags in `lags` (the first frames repeat frame 0), fitted by ridge regression on a data set's people
(training/coefficients.py). So every sample of the diffusion model (the same latent, decoded once) gets its
coefficients frame by frame, online as offline, and the model's graphs and backends stay as they are. What it
cannot give is coefficient detail the 25 attributes do not carry (head rotation beyond what the attributes move
with, a person's own expression basis): the card states how much of each group the head explains on the
validation split (R^2), and `react-ros eval --coefficients` scores the head on the real listeners too, the
ceiling of this design.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from react_ros import schema

__all__ = ["COEFFICIENT_FILE", "CoefficientHead", "lagged_design"]

COEFFICIENT_FILE = "coefficient_head.npz"


def lagged_design(reactions: np.ndarray, lags: tuple[int, ...]) -> np.ndarray:
    """(..., L, 25) -> (..., L, 1 + len(lags) * 25): a bias, then the reaction `lag` frames back for each lag
    (frames before the first repeat it: nothing from the future is read)."""
    reactions = np.asarray(reactions, dtype=np.float64)
    if reactions.shape[-1] != schema.REACTION_DIM or reactions.ndim < 2:
        raise ValueError(f"expected (..., L, {schema.REACTION_DIM}) reactions, got {reactions.shape}")
    length = reactions.shape[-2]
    parts = [np.ones(reactions.shape[:-1] + (1,))]
    for lag in lags:
        index = np.maximum(np.arange(length) - int(lag), 0)
        parts.append(np.take(reactions, index, axis=-2))
    return np.concatenate(parts, axis=-1)


@dataclass
class CoefficientHead:
    lags: tuple[int, ...]
    weights: np.ndarray  # (1 + len(lags) * 25, 58)
    report: dict = field(default_factory=dict)  # how it was fitted and what it explains (the card shows it)

    def __post_init__(self) -> None:
        self.lags = tuple(int(lag) for lag in self.lags)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        expected = (1 + len(self.lags) * schema.REACTION_DIM, schema.COEFFS_3DMM_DIM)
        if self.weights.shape != expected or any(lag < 0 for lag in self.lags):
            raise ValueError(f"coefficient head: weights {self.weights.shape} for lags {self.lags}, expected "
                             f"{expected} and lags >= 0")

    def __call__(self, reactions: np.ndarray) -> np.ndarray:
        """(..., L, 25) reactions -> (..., L, 58) coefficients (float32)."""
        return (lagged_design(reactions, self.lags) @ self.weights).astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        import json

        path = Path(directory) / COEFFICIENT_FILE
        np.savez(path, lags=np.array(self.lags, dtype=np.int64), weights=self.weights,
                 report=np.array(json.dumps(self.report, default=float)))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> CoefficientHead | None:
        """The head of a bundle directory, or None when the bundle has none (trained without coefficients)."""
        import json

        path = Path(directory) / COEFFICIENT_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(tuple(data["lags"].tolist()), data["weights"], json.loads(str(data["report"])))
