"""Diversity metrics: FRDiv (S-MSE, among one input's predictions), FRVar (over time), FRDvs (across inputs).

Definitions (REACT challenge), all higher is better:
- FRDiv / S-MSE: per input, flatten the K predictions to (K, L*25), sum the squared distance over all
  ordered pairs i != j, divide by K*(K-1)*L*25; average over inputs.
- FRVar: unbiased (ddof=1) variance over time of each prediction and dimension, mean over all of them.
- FRDvs: for each k, the squared distance between the k-th predictions of two different inputs, summed
  over ordered pairs of inputs and over k, divided by N*(N-1)*K*L*25.
Pairwise sums are computed directly (not through the centred-sum identity), so identical predictions give
exactly 0. Ragged inputs: FRDiv and FRVar are per input then averaged over inputs (for equal lengths this
equals the pooled mean); FRDvs needs a common length and CROPS every input to the shortest one.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from react_ros.metrics._inputs import ArrayOrList, as_list


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def _row_pairs(rows, i):
    """Sum over j > i of ||rows[i] - rows[j]||^2 (reassociation lets the reduction vectorise)."""
    acc = 0.0
    for j in range(i + 1, rows.shape[0]):
        for f in range(rows.shape[1]):
            t = rows[i, f] - rows[j, f]
            acc += t * t
    return acc


@njit(cache=True, parallel=True)
def _pair_sq_sum(rows):
    """Sum over unordered pairs i < j of ||rows[i] - rows[j]||^2, rows (M, F)."""
    count = rows.shape[0]
    half = (count + 1) // 2
    partial = np.zeros(half)
    for t in prange(half):
        # Row t has count-1-t pairs and row count-1-t has t: every task does count-1, balanced threads
        acc = _row_pairs(rows, t)
        if count - 1 - t != t:
            acc += _row_pairs(rows, count - 1 - t)
        partial[t] = acc
    return partial.sum()


def pairwise_sq_sum(rows: np.ndarray) -> float:
    """Sum over ORDERED pairs i != j of the squared Euclidean distance between the rows of (M, F)."""
    rows = np.ascontiguousarray(rows, dtype=np.float64).reshape(len(rows), -1)
    return 2.0 * float(_pair_sq_sum(rows))


def s_mse(preds: np.ndarray) -> float:
    """S-MSE of one input's (K, L, 25) predictions (NaN when K < 2)."""
    preds = np.asarray(preds, dtype=np.float64)
    k = preds.shape[0]
    if k < 2:
        return float("nan")
    return pairwise_sq_sum(preds.reshape(k, -1)) / (k * (k - 1) * preds[0].size)


def frdiv(pred: ArrayOrList) -> float:
    """FRDiv (S-MSE) averaged over inputs."""
    return float(np.mean([s_mse(p) for p in as_list(pred, 3, "pred")]))


def frvar(pred: ArrayOrList) -> float:
    """FRVar: mean unbiased variance over time (per input, then over inputs when lengths differ)."""
    return float(np.mean([np.var(p, axis=1, ddof=1).mean() for p in as_list(pred, 3, "pred", min_frames=2)]))


def frdvs(pred: ArrayOrList) -> float:
    """FRDvs: diversity of the k-th predictions across inputs (cropped to the shortest input; NaN if N < 2)."""
    preds = as_list(pred, 3, "pred")
    n = len(preds)
    if n < 2:
        return float("nan")
    k = min(p.shape[0] for p in preds)
    if any(p.shape[0] != k for p in preds):
        raise ValueError("FRDvs needs the same number of predictions for every input")
    length = min(p.shape[1] for p in preds)
    stacked = np.stack([p[:, :length] for p in preds])  # (N, K, L, D)
    total = sum(pairwise_sq_sum(stacked[:, j].reshape(n, -1)) for j in range(k))
    return total / (n * (n - 1) * k * stacked[0, 0].size)
