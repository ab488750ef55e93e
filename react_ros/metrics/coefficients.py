"""The REACT appropriateness and diversity metrics on 58-d 3DMM coefficients (schema.COEFFS_*).

Same definitions as on the 25 attributes (metrics/ccc.py, frdist.py, diversity.py), with the coefficient groups
in place of the attribute groups: FRCorr is the mean CCC over the 58 coefficients against the best ground truth;
FRDist the min over ground truths of DTW(expression) / 52 + DTW(rotation) / 3 + DTW(translation) / 3 (each group
divided by its number of dims, as FRDist does for the AUs and expressions: the challenge defines no coefficient
FRDist, so this is the project's, stated); FRDiv the S-MSE among an input's predictions. A coefficient that is
constant in a sequence has CCC 0 by definition (translation, when a data set holds it at 0).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from react_ros import schema
from react_ros.metrics.ccc import ccc_matrix
from react_ros.metrics.diversity import s_mse
from react_ros.metrics.dtw import grouped_dtw_min

__all__ = ["COEFFICIENT_GROUPS", "COEFFICIENT_WEIGHTS", "evaluate_coefficients"]

COEFFICIENT_GROUPS = (schema.COEFFS_EXPRESSION, schema.COEFFS_ROTATION, schema.COEFFS_TRANSLATION)
COEFFICIENT_WEIGHTS = tuple(1.0 / (g.stop - g.start) for g in COEFFICIENT_GROUPS)


def _checked(arrays: Sequence[np.ndarray], name: str) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    for i, a in enumerate(out):
        if a.ndim != 3 or a.shape[-1] != schema.COEFFS_3DMM_DIM or not np.isfinite(a).all():
            raise ValueError(f"{name}[{i}]: expected finite (count, L, {schema.COEFFS_3DMM_DIM}) coefficients, "
                             f"got {a.shape}")
    return out


def evaluate_coefficients(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> dict[str, float]:
    """preds[i] (K, L_i, 58), gts[i] (G, L_i, 58) (the paired ground truth first) -> FRCorr(_per_pred),
    FRDist(_per_pred), FRDiv, averaged over inputs like the attribute metrics."""
    preds, gts = _checked(preds, "preds"), _checked(gts, "gts")
    if len(preds) != len(gts) or any(p.shape[1] != g.shape[1] for p, g in zip(preds, gts, strict=True)):
        raise ValueError("each input needs predictions and ground truths of one length")
    corr = [ccc_matrix(p, g).mean(axis=2).max(axis=1) for p, g in zip(preds, gts, strict=True)]
    dist = [grouped_dtw_min(p, g, COEFFICIENT_GROUPS, COEFFICIENT_WEIGHTS)[0] for p, g in zip(preds, gts, strict=True)]
    counts = np.array([len(p) for p in preds], dtype=np.float64)
    corr_sums, dist_sums = np.array([c.sum() for c in corr]), np.array([d.sum() for d in dist])
    return {"FRCorr": float(corr_sums.mean()), "FRCorr_per_pred": float((corr_sums / counts).mean()),
            "FRDist": float(dist_sums.mean()), "FRDist_per_pred": float((dist_sums / counts).mean()),
            "FRDiv": float(np.nanmean([s_mse(p) for p in preds]))}
