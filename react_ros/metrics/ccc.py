"""FRCorr: appropriateness as the concordance correlation coefficient (CCC) with the best ground truth.

Definition (REACT challenge, made exact here):
    CCC(t, p) = 2 r sd_t sd_p / (var_t + var_p + (mu_t - mu_p)^2 + 1e-8)
per attribute dimension over time, with population (ddof=0) variances and Pearson r; r is taken as 0
when either sequence is constant (the public code's NaN), so a constant sequence scores 0 even against
an identical copy. The per-pair score is the mean CCC over the 25 dimensions.
FRCorr: for each prediction the max over the G appropriate ground truths, SUMMED over the K predictions,
averaged over inputs (the oracle scores K, i.e. 10 on the challenge protocol). `FRCorr_per_pred`
divides each input's sum by K, to compare with papers that report it per prediction (e.g. ReactDiff).
"""
from __future__ import annotations

import numpy as np

from react_ros.metrics._inputs import ArrayOrList, as_list, check_pairs

CCC_EPS = 1e-8  # the challenge's denominator guard


def ccc_matrix(preds: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """CCC of every prediction against every ground truth, per dimension: (K, L, D) x (G, L, D) -> (K, G, D)."""
    preds = np.asarray(preds, dtype=np.float64)
    gts = np.asarray(gts, dtype=np.float64)
    if preds.ndim != 3 or gts.ndim != 3 or preds.shape[1:] != gts.shape[1:]:
        raise ValueError(f"expected (K, L, D) and (G, L, D) with equal L and D, got {preds.shape} and {gts.shape}")
    frames = preds.shape[1]
    mu_p = preds.mean(axis=1)  # (K, D)
    mu_t = gts.mean(axis=1)
    cp = preds - mu_p[:, None, :]
    ct = gts - mu_t[:, None, :]
    var_p = np.einsum("kld,kld->kd", cp, cp) / frames  # population variance
    var_t = np.einsum("gld,gld->gd", ct, ct) / frames
    # Cross covariances for all (k, g) pairs at once: batched over dims, (D, K, L) @ (D, L, G)
    cov = np.matmul(cp.transpose(2, 0, 1), ct.transpose(2, 1, 0)).transpose(1, 2, 0) / frames  # (K, G, D)
    # Exact constancy test (not var == 0, which rounding can miss): r is then 0 by definition
    const_p = np.ptp(preds, axis=1) == 0  # (K, D)
    const_t = np.ptp(gts, axis=1) == 0
    sd_p = np.sqrt(var_p)
    sd_t = np.sqrt(var_t)
    sd_prod = sd_p[:, None, :] * sd_t[None, :, :]  # commutative product keeps CCC symmetric bit for bit
    constant = const_p[:, None, :] | const_t[None, :, :] | (sd_prod == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(constant, 0.0, cov / np.where(constant, 1.0, sd_prod))
    r = np.clip(r, -1.0, 1.0)
    diff = mu_p[:, None, :] - mu_t[None, :, :]
    denom = (var_p[:, None, :] + var_t[None, :, :]) + diff * diff + CCC_EPS
    return 2.0 * r * sd_prod / denom


def ccc(target: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """CCC per dimension between two (L, D) sequences (or two (L,) series, giving a 0-d array)."""
    target = np.asarray(target, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if target.shape != pred.shape or target.ndim not in (1, 2):
        raise ValueError(f"expected two (L,) or (L, D) arrays of one shape, got {target.shape} and {pred.shape}")
    squeeze = target.ndim == 1
    if squeeze:
        target, pred = target[:, None], pred[:, None]
    out = ccc_matrix(pred[None], target[None])[0, 0]
    return out[0] if squeeze else out


def frcorr_scores(pred: ArrayOrList, gts: ArrayOrList) -> list[np.ndarray]:
    """Per input, the (K,) best mean-CCC of each prediction over that input's ground truths."""
    preds = as_list(pred, 3, "pred")
    gt_list = as_list(gts, 3, "gts")
    check_pairs(preds, gt_list)
    return [ccc_matrix(p, g).mean(axis=2).max(axis=1) for p, g in zip(preds, gt_list, strict=True)]


def frcorr(pred: ArrayOrList, gts: ArrayOrList) -> float:
    """FRCorr (higher is better): sum over predictions of the best mean-CCC, averaged over inputs."""
    return float(np.mean([s.sum() for s in frcorr_scores(pred, gts)]))
