"""Resampling of attribute sequences to a given number of frames (ground truths of other lengths)."""
from __future__ import annotations

import numpy as np


def resample_to_length(seq: np.ndarray, length: int) -> np.ndarray:
    """Resample a (T, D) sequence to (length, D) by linear interpolation over time.

    The first and last frames are kept; frame i of the output sits at time i * (T - 1) / (length - 1) of
    the input. T == length returns an exact copy; a single input frame is repeated. Output is float64.
    """
    seq = np.asarray(seq, dtype=np.float64)
    if seq.ndim != 2 or seq.shape[0] == 0:
        raise ValueError(f"expected a non-empty (T, D) sequence, got shape {seq.shape}")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    frames = seq.shape[0]
    if frames == length:
        return seq.copy()
    if frames == 1:
        return np.repeat(seq, length, axis=0)
    pos = np.linspace(0.0, frames - 1, length)
    low = np.minimum(np.floor(pos).astype(np.int64), frames - 2)
    frac = (pos - low)[:, None]
    # Exact at the sample points (frac 0 or 1) since a*(1-0) + b*0 == a
    return seq[low] * (1.0 - frac) + seq[low + 1] * frac
