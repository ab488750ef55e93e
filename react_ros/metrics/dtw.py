"""Dynamic time warping with numba: the exact tslearn definition, fast enough for the full benchmark.

Definition (what the REACT challenge code gets from `tslearn.metrics.dtw`): unconstrained DTW between two
multi-dimensional sequences x (n, D) and y (m, D) with the squared Euclidean local cost,

    C[0, 0] = 0,  C[i, 0] = C[0, j] = inf,
    C[i, j] = ||x_{i-1} - y_{j-1}||^2 + min(C[i-1, j-1], C[i-1, j], C[i, j-1]),
    DTW(x, y) = sqrt(C[n, m]),

i.e. the square root of the smallest SUM OF SQUARED Euclidean distances along a warping path (not the sum
of Euclidean distances). Computed in float64 with the squared distance accumulated over dims in
ascending order, as tslearn does, so results match tslearn's bit for bit on float64 inputs.

Speed: the DP is O(n m) time and O(m) memory. The grouped kernel used by FRDist runs the three attribute
groups (AU, affect, expression) as six interleaved dependency chains (three groups x two rows, the second
row one cell behind), computes the local costs of two rows per sweep over y, and parallelises over the
predictions of an input with `prange`.

Exact early abandoning for a minimum over ground truths: every warping path crosses every row and costs
are non-negative, so the minimum of row i of C is a lower bound of C[n, m] (also in floating point:
adding non-negative numbers and sqrt are monotone under round-to-nearest). The weighted sum of the
square roots of these row minima, evaluated with the same expression as the final total, is therefore
a lower bound of the total; a ground truth whose bound exceeds the best total so far cannot be the
minimum and is abandoned. The minimum is identical to the unpruned one.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _min3(a: float, b: float, c: float) -> float:
    t = a if a < b else b
    return t if t < c else c


@njit(cache=True)
def _cost_rows(x, i0, nrows, yt, lo, hi, dist, q):
    """dist[r, q, j] = sum over d in [lo, hi) of (x[i0 + r, d] - yt[d, j])^2, dims added in ascending order."""
    m = yt.shape[1]
    for r in range(nrows):
        for j in range(m):
            dist[r, q, j] = 0.0
    for d in range(lo, hi):
        yrow = yt[d]
        if nrows == 2:
            # Two rows per sweep halves the reads of y (the kernel's memory traffic)
            xa = x[i0, d]
            xb = x[i0 + 1, d]
            for j in range(m):
                y = yrow[j]
                ta = xa - y
                tb = xb - y
                dist[0, q, j] += ta * ta
                dist[1, q, j] += tb * tb
        else:
            xa = x[i0, d]
            for j in range(m):
                ta = xa - yrow[j]
                dist[0, q, j] += ta * ta


@njit(cache=True)
def _dtw_sq(x, yt):
    """Squared DTW cost C[n, m] between x (n, D) and y given transposed as yt (D, m)."""
    n = x.shape[0]
    m = yt.shape[1]
    dist = np.empty((1, 1, m))
    buf = np.full(m + 1, np.inf)
    buf[0] = 0.0
    for i in range(n):
        _cost_rows(x, i, 1, yt, 0, x.shape[1], dist, 0)
        diag = buf[0]
        buf[0] = np.inf
        left = np.inf
        for j in range(1, m + 1):
            up = buf[j]
            left = dist[0, 0, j - 1] + _min3(diag, up, left)
            buf[j] = left
            diag = up
    return buf[m]


@njit(cache=True)
def _grouped_pair(x, yt, groups, weights, bound, dist, buf, out):
    """Squared DTW costs of the three groups of x (n, D) vs yt (D, m) into out[0:3].

    Abandons (returns False, out untouched) as soon as the row-minimum lower bound of the weighted total
    exceeds `bound` (pass inf to never abandon).
    """
    n = x.shape[0]
    m = yt.shape[1]
    inf = np.inf
    w0 = weights[0]
    w1 = weights[1]
    w2 = weights[2]
    for q in range(3):
        buf[q, 0] = 0.0
        for j in range(1, m + 1):
            buf[q, j] = inf
    i0 = 0
    while i0 < n:
        nrows = min(2, n - i0)
        for q in range(3):
            _cost_rows(x, i0, nrows, yt, groups[q, 0], groups[q, 1], dist, q)
        if nrows == 2:
            # Row a = i0 and row b = i0 + 1, with b one cell behind a: six independent chains per step.
            # buf[q, j] holds C[a-1, j] until row b overwrites it with C[b, j].
            da0 = buf[0, 0]
            da1 = buf[1, 0]
            da2 = buf[2, 0]
            buf[0, 0] = inf
            buf[1, 0] = inf
            buf[2, 0] = inf
            ua0 = buf[0, 1]
            ua1 = buf[1, 1]
            ua2 = buf[2, 1]
            la0 = dist[0, 0, 0] + (da0 if da0 < ua0 else ua0)
            la1 = dist[0, 1, 0] + (da1 if da1 < ua1 else ua1)
            la2 = dist[0, 2, 0] + (da2 if da2 < ua2 else ua2)
            da0 = ua0
            da1 = ua1
            da2 = ua2
            db0 = inf
            db1 = inf
            db2 = inf
            lb0 = inf
            lb1 = inf
            lb2 = inf
            mn0 = inf
            mn1 = inf
            mn2 = inf
            for j in range(2, m + 1):
                # row b, cell j - 1: up = C[a, j-1] (la), diag = C[a, j-2] (db), left = C[b, j-2] (lb)
                cb0 = dist[1, 0, j - 2] + _min3(db0, la0, lb0)
                cb1 = dist[1, 1, j - 2] + _min3(db1, la1, lb1)
                cb2 = dist[1, 2, j - 2] + _min3(db2, la2, lb2)
                db0 = la0
                db1 = la1
                db2 = la2
                lb0 = cb0
                lb1 = cb1
                lb2 = cb2
                mn0 = mn0 if mn0 < cb0 else cb0
                mn1 = mn1 if mn1 < cb1 else cb1
                mn2 = mn2 if mn2 < cb2 else cb2
                # row a, cell j
                ua0 = buf[0, j]
                ua1 = buf[1, j]
                ua2 = buf[2, j]
                la0 = dist[0, 0, j - 1] + _min3(da0, ua0, la0)
                la1 = dist[0, 1, j - 1] + _min3(da1, ua1, la1)
                la2 = dist[0, 2, j - 1] + _min3(da2, ua2, la2)
                da0 = ua0
                da1 = ua1
                da2 = ua2
                buf[0, j - 1] = cb0
                buf[1, j - 1] = cb1
                buf[2, j - 1] = cb2
            cb0 = dist[1, 0, m - 1] + _min3(db0, la0, lb0)
            cb1 = dist[1, 1, m - 1] + _min3(db1, la1, lb1)
            cb2 = dist[1, 2, m - 1] + _min3(db2, la2, lb2)
            buf[0, m] = cb0
            buf[1, m] = cb1
            buf[2, m] = cb2
            mn0 = mn0 if mn0 < cb0 else cb0
            mn1 = mn1 if mn1 < cb1 else cb1
            mn2 = mn2 if mn2 < cb2 else cb2
        else:
            d0 = buf[0, 0]
            d1 = buf[1, 0]
            d2 = buf[2, 0]
            buf[0, 0] = inf
            buf[1, 0] = inf
            buf[2, 0] = inf
            l0 = inf
            l1 = inf
            l2 = inf
            mn0 = inf
            mn1 = inf
            mn2 = inf
            for j in range(1, m + 1):
                u0 = buf[0, j]
                u1 = buf[1, j]
                u2 = buf[2, j]
                l0 = dist[0, 0, j - 1] + _min3(d0, u0, l0)
                l1 = dist[0, 1, j - 1] + _min3(d1, u1, l1)
                l2 = dist[0, 2, j - 1] + _min3(d2, u2, l2)
                buf[0, j] = l0
                buf[1, j] = l1
                buf[2, j] = l2
                d0 = u0
                d1 = u1
                d2 = u2
                mn0 = mn0 if mn0 < l0 else l0
                mn1 = mn1 if mn1 < l1 else l1
                mn2 = mn2 if mn2 < l2 else l2
        i0 += nrows
        if bound < inf and i0 < n:
            # Same expression as the final total, so the bound is exact in floating point too
            lower = 0.0
            lower += w0 * np.sqrt(mn0)
            lower += w1 * np.sqrt(mn1)
            lower += w2 * np.sqrt(mn2)
            if lower > bound:
                return False
    out[0] = buf[0, m]
    out[1] = buf[1, m]
    out[2] = buf[2, m]
    return True


@njit(cache=True, parallel=True)
def _grouped_min(preds, gts_t, order, groups, weights, prune, costs, best, best_index):
    """For each prediction k: min over ground truths of sum_q weights[q] * sqrt(C_q), visiting them in order[k].

    costs (K, G, 3) receives the squared group costs (NaN where abandoned); best (K,), best_index (K,).
    """
    n_preds = preds.shape[0]
    n_gts = gts_t.shape[0]
    m = gts_t.shape[2]
    for k in prange(n_preds):
        dist = np.empty((2, 3, m))
        buf = np.empty((3, m + 1))
        out = np.empty(3)
        top = np.inf
        top_index = -1
        for o in range(n_gts):
            g = order[k, o]
            bound = top if prune else np.inf
            if _grouped_pair(preds[k], gts_t[g], groups, weights, bound, dist, buf, out):
                total = 0.0
                total += weights[0] * np.sqrt(out[0])
                total += weights[1] * np.sqrt(out[1])
                total += weights[2] * np.sqrt(out[2])
                for q in range(3):
                    costs[k, g, q] = out[q]
                if total < top:
                    top = total
                    top_index = g
            else:
                for q in range(3):
                    costs[k, g, q] = np.nan
        best[k] = top
        best_index[k] = top_index


def dtw(x: np.ndarray, y: np.ndarray) -> float:
    """DTW between x (n, D) and y (m, D) (or 1-d series): sqrt of the min sum of squared Euclidean costs.

    Identical to `tslearn.metrics.dtw(x, y)` (no global constraint); see the module docstring.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(x) == 0 or len(y) == 0:
        raise ValueError(f"expected non-empty (n, D) and (m, D) sequences, got {x.shape} and {y.shape}")
    return float(np.sqrt(_dtw_sq(np.ascontiguousarray(x), np.ascontiguousarray(y.T))))


def grouped_dtw_min(
    preds: np.ndarray,
    gts: np.ndarray,
    groups: tuple[slice, slice, slice],
    weights: tuple[float, float, float],
    prune: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min over ground truths of a weighted sum of per-group DTWs, for each prediction.

    preds (K, n, D), gts (G, m, D); total(k, g) = sum_q weights[q] * DTW(preds[k][:, groups[q]],
    gts[g][:, groups[q]]). Returns (best (K,), best_index (K,), costs (K, G, 3)) where costs are the squared
    group DTWs (C[n, m]) and NaN for pairs abandoned by the exact pruning (prune=False computes all).
    Ground truths are visited in increasing order of the lock-step (diagonal path) total when n == m,
    an upper bound of the DTW total, so a close ground truth comes first and prunes the others.
    """
    preds = np.ascontiguousarray(preds, dtype=np.float64)
    gts = np.asarray(gts, dtype=np.float64)
    if preds.ndim != 3 or gts.ndim != 3 or preds.shape[2] != gts.shape[2]:
        raise ValueError(f"expected (K, n, D) and (G, m, D), got {preds.shape} and {gts.shape}")
    if len(groups) != 3 or len(weights) != 3:
        raise ValueError("exactly three groups and weights")
    dims = preds.shape[2]
    group_arr = np.array([g.indices(dims)[:2] for g in groups], dtype=np.int64)
    weight_arr = np.array(weights, dtype=np.float64)
    n_preds, n_gts = preds.shape[0], gts.shape[0]
    if prune and preds.shape[1] == gts.shape[1]:
        upper = np.empty((n_preds, n_gts))
        for k in range(n_preds):  # one prediction at a time: (G, L, D) stays small even for long clips
            diff2 = (gts - preds[k]) ** 2
            upper[k] = sum(w * np.sqrt(diff2[..., g].sum(axis=(1, 2))) for g, w in zip(groups, weights, strict=True))
        order = np.argsort(upper, axis=1, kind="stable")
    else:
        order = np.tile(np.arange(n_gts), (n_preds, 1))
    costs = np.empty((n_preds, n_gts, 3))
    best = np.empty(n_preds)
    best_index = np.empty(n_preds, dtype=np.int64)
    _grouped_min(preds, np.ascontiguousarray(gts.transpose(0, 2, 1)), order.astype(np.int64), group_arr,
                 weight_arr, prune, costs, best, best_index)
    return best, best_index, costs
