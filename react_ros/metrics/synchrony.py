"""FRSyn: synchrony as the lag of the best time-lagged cross-correlation with the speaker (lower is better).

Definition: for lags l in [-M, M] frames, M = round(seconds * fps) (2 s at the data's fps, which defaults
to schema.FPS; the public code hard-codes 25 fps and uses lags -(M-1)..M-1), the correlation of a
prediction p (L, 25) with the speaker s (L, 25) at lag l is the mean over the 25 dims of the Pearson r
between the overlapping parts
    l >= 0: p[l:] and s[:L-l]      (the prediction FOLLOWS the speaker by l frames: p[t] ~ s[t - l])
    l <  0: p[:L+l] and s[-l:]     (the prediction LEADS the speaker by -l frames),
with r = 0 where either part is constant (the public code's NaN). The best lag is the argmax (the first,
i.e. most negative, lag on ties; so a prediction uncorrelated at every lag, e.g. a constant one, gets
|lag| = M, the worst score). FRSyn is the mean |best lag| in frames over ALL predictions of all inputs
(the public code scores only the first prediction of each input). Lags are limited to |l| <= L - 2 so
that every overlap has at least two frames.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from react_ros import schema
from react_ros.metrics._inputs import ArrayOrList, as_list, check_speakers


def max_lag_frames(fps: float = schema.FPS, seconds: float = 2.0) -> int:
    """The largest lag searched, in frames: round(seconds * fps)."""
    if fps <= 0 or seconds < 0:
        raise ValueError(f"fps must be > 0 and seconds >= 0, got {fps} and {seconds}")
    return int(round(seconds * fps))


@njit(cache=True)
def _prefix(series_t):
    """Prefix sums and prefix counts of value changes per row of (D, L): O(1) segment means and constancy."""
    dims, length = series_t.shape
    sums = np.zeros((dims, length + 1))
    changes = np.zeros((dims, length), dtype=np.int64)
    for d in range(dims):
        for t in range(length):
            sums[d, t + 1] = sums[d, t] + series_t[d, t]
            if t > 0:
                changes[d, t] = changes[d, t - 1] + (1 if series_t[d, t] != series_t[d, t - 1] else 0)
    return sums, changes


@njit(cache=True, fastmath={"reassoc", "contract"})
def _centred_sums(a, a0, b, b0, n, mean_a, mean_b):
    """Two-pass sums (a - mean)(b - mean), (a - mean)^2, (b - mean)^2 over n samples from offsets a0, b0."""
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for t in range(n):
        u = a[a0 + t] - mean_a
        v = b[b0 + t] - mean_b
        sab += u * v
        saa += u * u
        sbb += v * v
    return sab, saa, sbb


@njit(cache=True)
def _lag_corr_one(pred_t, pred_sums, pred_changes, sp_t, sp_sums, sp_changes, max_lag, out):
    """out[l + max_lag] = mean over dims of Pearson r at lag l, for one (D, L) prediction vs the speaker."""
    dims, length = pred_t.shape
    for li in range(2 * max_lag + 1):
        lag = li - max_lag
        n = length - abs(lag)
        p0 = lag if lag > 0 else 0
        s0 = -lag if lag < 0 else 0
        total = 0.0
        for d in range(dims):
            if pred_changes[d, p0 + n - 1] == pred_changes[d, p0] or sp_changes[d, s0 + n - 1] == sp_changes[d, s0]:
                continue  # a constant part: r := 0
            mean_p = (pred_sums[d, p0 + n] - pred_sums[d, p0]) / n
            mean_s = (sp_sums[d, s0 + n] - sp_sums[d, s0]) / n
            sab, saa, sbb = _centred_sums(pred_t[d], p0, sp_t[d], s0, n, mean_p, mean_s)
            if saa > 0.0 and sbb > 0.0:
                r = sab / np.sqrt(saa * sbb)
                total += min(1.0, max(-1.0, r))
        out[li] = total / dims


@njit(cache=True, parallel=True)
def _lag_corr_batch(preds_t, sp_t, max_lag, out):
    sp_sums, sp_changes = _prefix(sp_t)
    for k in prange(preds_t.shape[0]):
        sums, changes = _prefix(preds_t[k])
        _lag_corr_one(preds_t[k], sums, changes, sp_t, sp_sums, sp_changes, max_lag, out[k])


def _effective_lag(max_lag: int, length: int) -> int:
    if max_lag < 0:
        raise ValueError(f"max_lag must be >= 0, got {max_lag}")
    return min(max_lag, length - 2)


def lag_correlations(preds: np.ndarray, speaker: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Lags (2M+1,) and mean-over-dims Pearson r, (2M+1,) for one (L, D) prediction or (K, 2M+1) for (K, L, D)."""
    preds = np.asarray(preds, dtype=np.float64)
    speaker = np.asarray(speaker, dtype=np.float64)
    single = preds.ndim == 2
    if single:
        preds = preds[None]
    if preds.ndim != 3 or speaker.ndim != 2 or preds.shape[1:] != speaker.shape:
        raise ValueError(f"expected (L, D) or (K, L, D) predictions and an (L, D) speaker, got "
                         f"{preds.shape} and {speaker.shape}")
    if speaker.shape[0] < 2:
        raise ValueError("at least 2 frames needed")
    lag = _effective_lag(max_lag, speaker.shape[0])
    out = np.empty((preds.shape[0], 2 * lag + 1))
    _lag_corr_batch(np.ascontiguousarray(preds.transpose(0, 2, 1)), np.ascontiguousarray(speaker.T), lag, out)
    lags = np.arange(-lag, lag + 1)
    return lags, (out[0] if single else out)


def best_lag(pred_seq: np.ndarray, speaker_seq: np.ndarray, max_lag: int) -> int:
    """The lag in [-max_lag, max_lag] of the highest correlation; > 0 means the prediction follows the speaker."""
    lags, corr = lag_correlations(pred_seq, speaker_seq, max_lag)
    return int(lags[np.argmax(corr)])


def frsyn_scores(pred: ArrayOrList, speaker: ArrayOrList, fps: float = schema.FPS,
                 seconds: float = 2.0) -> list[np.ndarray]:
    """Per input, the (K,) best lags (signed, frames) of each prediction against that input's speaker."""
    preds = as_list(pred, 3, "pred", min_frames=2)
    speakers = as_list(speaker, 2, "speaker", min_frames=2)
    check_speakers(preds, speakers)
    max_lag = max_lag_frames(fps, seconds)
    scores = []
    for p, s in zip(preds, speakers, strict=True):
        lags, corr = lag_correlations(p, s, max_lag)
        scores.append(lags[np.argmax(corr, axis=1)])
    return scores


def frsyn(pred: ArrayOrList, speaker: ArrayOrList, fps: float = schema.FPS, seconds: float = 2.0) -> float:
    """FRSyn (lower is better): mean |best lag| in frames over all predictions of all inputs."""
    lags = np.concatenate(frsyn_scores(pred, speaker, fps=fps, seconds=seconds))
    return float(np.mean(np.abs(lags)))
