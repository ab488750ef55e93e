"""All REACT metrics of a model's predictions in one call.

Shapes: predictions (N, K, L, 25); appropriate ground truths (N, G, L, 25), already resampled to L with
`resample_to_length`; speaker attributes (N, L, 25). Test clips have different lengths, so
`evaluate_ragged` takes per-input lists instead ((K, L_i, 25), (G, L_i, 25), (L_i, 25)).

Returned keys (see each module for the exact definition):
    FRCorr, FRCorr_per_pred   appropriateness, CCC with the best ground truth (higher is better)
    FRDist, FRDist_per_pred   appropriateness, weighted DTW to the closest ground truth (lower)
    FRDiv                     S-MSE among an input's predictions (higher)
    FRVar                     variance over time (higher)
    FRDvs                     diversity across inputs, cropped to the shortest input (higher)
    FRSyn                     mean |best lag| in frames against the speaker, all predictions (lower)
    FRSyn_lag_median          the signed median of those lags (> 0: reacts after the speaker): where
                              reactions sit in time, which the mean |lag| hides when lags scatter
    FD_frame, FD_delta        Frechet distances of frames / frame deltas, paired ground truth (gts[:, 0])
                              vs all predictions: this project's stand-in for FRRea (lower)
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from react_ros import schema
from react_ros.metrics._inputs import as_list, check_pairs, check_speakers
from react_ros.metrics.ccc import frcorr_scores
from react_ros.metrics.diversity import frdvs, frvar, s_mse
from react_ros.metrics.frdist import frdist_scores
from react_ros.metrics.realism import delta_fd, frame_fd
from react_ros.metrics.synchrony import frsyn_scores

T = TypeVar("T")


def _timed(name: str, timings: dict[str, float] | None, fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    if timings is not None:
        timings[name] = time.perf_counter() - start
    return result


def evaluate_ragged(
    pred: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
    speaker: Sequence[np.ndarray],
    fps: float = schema.FPS,
    progress: bool = True,
    prune: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """All metrics for per-input lists: pred[i] (K, L_i, 25), gts[i] (G, L_i, 25), speaker[i] (L_i, 25).

    Per-input metrics are averaged over inputs; FRDvs crops all inputs to the shortest length. `prune`
    enables the exact early abandoning of the DTW minimum (same result, faster). `timings`, if given,
    receives the seconds spent per metric.
    """
    preds = as_list(pred, 3, "pred")
    gt_list = as_list(gts, 3, "gts")
    speakers = as_list(speaker, 2, "speaker")
    check_pairs(preds, gt_list)
    check_speakers(preds, speakers)
    counts = np.array([p.shape[0] for p in preds], dtype=np.float64)

    corr = _timed("FRCorr", timings, lambda: frcorr_scores(preds, gt_list))
    dist = _timed("FRDist", timings, lambda: frdist_scores(preds, gt_list, prune=prune, progress=progress))
    corr_sums = np.array([c.sum() for c in corr])
    dist_sums = np.array([d.sum() for d in dist])
    out = {
        "FRCorr": float(corr_sums.mean()),
        "FRCorr_per_pred": float((corr_sums / counts).mean()),
        "FRDist": float(dist_sums.mean()),
        "FRDist_per_pred": float((dist_sums / counts).mean()),
    }
    out["FRDiv"] = _timed("FRDiv", timings, lambda: float(np.mean([s_mse(p) for p in preds])))
    out["FRVar"] = _timed("FRVar", timings, lambda: frvar(preds))
    out["FRDvs"] = _timed("FRDvs", timings, lambda: frdvs(preds))
    lags = _timed("FRSyn", timings, lambda: frsyn_scores(preds, speakers, fps=fps))
    out["FRSyn"] = float(np.mean(np.abs(np.concatenate(lags))))
    out["FRSyn_lag_median"] = float(np.median(np.concatenate(lags)))
    real = [g[0] for g in gt_list]  # the paired (real) listener of each input
    out["FD_frame"] = _timed("FD_frame", timings, lambda: frame_fd(real, preds))
    out["FD_delta"] = _timed("FD_delta", timings, lambda: delta_fd(real, preds))
    return out


def evaluate(
    pred: np.ndarray,
    gts: np.ndarray,
    speaker: np.ndarray,
    fps: float = schema.FPS,
    progress: bool = True,
    prune: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """All metrics for stacked arrays: pred (N, K, L, 25), gts (N, G, L, 25), speaker (N, L, 25)."""
    pred, gts, speaker = np.asarray(pred), np.asarray(gts), np.asarray(speaker)
    if pred.ndim != 4 or gts.ndim != 4 or speaker.ndim != 3:
        raise ValueError(f"expected pred (N, K, L, 25), gts (N, G, L, 25), speaker (N, L, 25), got "
                         f"{pred.shape}, {gts.shape}, {speaker.shape}")
    return evaluate_ragged(list(pred), list(gts), list(speaker), fps=fps, progress=progress, prune=prune,
                           timings=timings)
