"""Realism without a downloaded network: Frechet distances on the attributes (the project's stand-in for FRRea).

The challenge's FRRea is the FID between rendered real and generated face frames, which needs a renderer
and an Inception network. This project instead reports the Frechet distance between Gaussians fitted to
the 25-d attribute vectors themselves:
- `frame_fd`: on frames (are the generated attribute values distributed like real ones?),
- `delta_fd`: on frame-to-frame differences (is the motion, jitter and smoothness realistic?).
Both are lower-is-better, 0 for identical distributions; they are NOT comparable with published FRRea.

    FD = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)),  S = np.cov (unbiased) of the rows,

with scipy.linalg.sqrtm and its real part. Real attributes are singular by construction (the 8 expression
probabilities sum to 1, unused AUs are constant), so when a covariance is singular (or sqrtm is not finite)
eps*I (1e-6) is added to BOTH covariances, consistently in the trace too, so identical sets still give 0.
Tiny negative results of rounding are clipped to 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import linalg

from react_ros import schema

FD_EPS = 1e-6


def _is_singular(cov: np.ndarray) -> bool:
    eig = np.linalg.eigvalsh(cov)
    return bool(eig[0] <= max(eig[-1], 1.0) * 1e-12)


def frechet_distance(real: np.ndarray, fake: np.ndarray, eps: float = FD_EPS) -> float:
    """Frechet distance between Gaussians fitted to real (M, D) and fake (M2, D) rows (M, M2 >= 2)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or len(real) < 2 or len(fake) < 2:
        raise ValueError(f"expected (M, D) and (M2, D) with at least 2 rows each, got {real.shape} and {fake.shape}")
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1 = np.atleast_2d(np.cov(real, rowvar=False))
    s2 = np.atleast_2d(np.cov(fake, rowvar=False))
    covmean = None
    if not (_is_singular(s1) or _is_singular(s2)):
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            covmean = None
    if covmean is None:
        offset = eps * np.eye(s1.shape[0])
        s1, s2 = s1 + offset, s2 + offset
        covmean = linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def _frames(data: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return data.reshape(-1, data.shape[-1]).astype(np.float64)
    return np.concatenate([np.asarray(d, dtype=np.float64).reshape(-1, schema.REACTION_DIM) for d in data])


def _deltas(data: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Frame-to-frame differences within each sequence (never across the end of one and start of another)."""
    if isinstance(data, np.ndarray):
        return np.diff(data.astype(np.float64), axis=-2).reshape(-1, data.shape[-1])
    return np.concatenate([np.diff(np.asarray(d, dtype=np.float64), axis=-2).reshape(-1, schema.REACTION_DIM)
                           for d in data])


def frame_fd(real: np.ndarray | Sequence[np.ndarray], fake: np.ndarray | Sequence[np.ndarray]) -> float:
    """FD between real and generated frames; inputs are arrays (..., 25) or lists of them."""
    return frechet_distance(_frames(real), _frames(fake))


def delta_fd(real: np.ndarray | Sequence[np.ndarray], fake: np.ndarray | Sequence[np.ndarray]) -> float:
    """FD between frame-to-frame differences; inputs are (..., L, 25) sequences or lists of them."""
    return frechet_distance(_deltas(real), _deltas(fake))
