"""FRDist: appropriateness as the DTW distance to the closest appropriate ground truth.

Definition (REACT challenge): for each prediction, the minimum over the G ground truths of
    DTW(AU dims) / 15 + DTW(valence, arousal) + DTW(expression dims) / 8
where DTW is tslearn's unconstrained DTW (sqrt of the min sum of squared Euclidean local costs along a
warping path, see `react_ros.metrics.dtw`) on the multi-dimensional group sequences, and the weights are
applied as the public code does (w = 1/15, 1, 1/8; total = 0 + w_AU*DTW_AU + w_VA*DTW_VA + w_EX*DTW_EX).
FRDist SUMS the per-prediction minima over the K predictions and averages over inputs (lower is better);
`FRDist_per_pred` divides each input's sum by K. The public code casts to float32 before tslearn; here
everything runs in float64 (tslearn itself computes in float64).
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from react_ros import schema
from react_ros.metrics._inputs import ArrayOrList, as_list, check_pairs
from react_ros.metrics.dtw import grouped_dtw_min


def _width(group: slice) -> int:
    return group.stop - group.start


FRDIST_GROUPS: tuple[slice, slice, slice] = (schema.AU, schema.AFFECT, schema.EXPRESSION)
# AU and expression DTWs are divided by their number of dims; valence/arousal is not (challenge definition)
FRDIST_WEIGHTS: tuple[float, float, float] = (1.0 / _width(schema.AU), 1.0, 1.0 / _width(schema.EXPRESSION))


def frdist_input(pred: np.ndarray, gts: np.ndarray, prune: bool = True) -> np.ndarray:
    """(K,) min over ground truths of the weighted group DTW total, for one input's (K, L, 25) predictions."""
    best, _, _ = grouped_dtw_min(pred, gts, FRDIST_GROUPS, FRDIST_WEIGHTS, prune=prune)
    return best


def frdist_scores(pred: ArrayOrList, gts: ArrayOrList, prune: bool = True, progress: bool = True) -> list[np.ndarray]:
    """Per input, the (K,) per-prediction FRDist terms (min over that input's ground truths)."""
    preds = as_list(pred, 3, "pred")
    gt_list = as_list(gts, 3, "gts")
    check_pairs(preds, gt_list)
    scores = []
    for p, g in tqdm(zip(preds, gt_list, strict=True), total=len(preds), desc="FRDist (DTW)",
                     disable=not progress, unit="input"):
        scores.append(frdist_input(p, g, prune=prune))
    return scores


def frdist(pred: ArrayOrList, gts: ArrayOrList, prune: bool = True, progress: bool = True) -> float:
    """FRDist (lower is better): sum over predictions of the min weighted DTW, averaged over inputs."""
    return float(np.mean([s.sum() for s in frdist_scores(pred, gts, prune=prune, progress=progress)]))
