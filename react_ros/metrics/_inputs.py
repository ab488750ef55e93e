"""Shared input handling for the metrics: normalise arrays or per-input lists, validate shapes early.

Every metric accepts either a stacked array (N, ...) or a list of per-input arrays (ragged lengths), and
computes in float64 whatever the input dtype, so float32 model outputs and float64 references agree.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from react_ros import schema

ArrayOrList = np.ndarray | Sequence[np.ndarray]


def as_list(data: ArrayOrList, per_input_ndim: int, name: str, min_frames: int = 1) -> list[np.ndarray]:
    """Split a stacked (N, ...) array or a sequence of per-input arrays into float64 per-input arrays."""
    if isinstance(data, np.ndarray) and data.ndim == per_input_ndim + 1:
        items = list(data)
    elif isinstance(data, np.ndarray):
        raise ValueError(f"{name}: expected {per_input_ndim + 1} dims (N, ...) or a list, got shape {data.shape}")
    else:
        items = list(data)
    if not items:
        raise ValueError(f"{name}: no inputs")
    out = []
    for i, item in enumerate(items):
        arr = np.asarray(item, dtype=np.float64)
        if arr.ndim != per_input_ndim or arr.shape[-1] != schema.REACTION_DIM:
            raise ValueError(f"{name}[{i}]: expected {per_input_ndim} dims ending in {schema.REACTION_DIM}, "
                             f"got shape {arr.shape}")
        if arr.shape[-2] < min_frames:
            raise ValueError(f"{name}[{i}]: at least {min_frames} frames needed, got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}[{i}]: non-finite values")
        out.append(arr)
    return out


def check_pairs(preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
    """Predictions and ground truths of an input must have the same number of frames."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} inputs of predictions but {len(gts)} of ground truths")
    for i, (p, g) in enumerate(zip(preds, gts, strict=True)):
        if p.shape[-2] != g.shape[-2]:
            raise ValueError(f"input {i}: predictions have {p.shape[-2]} frames, ground truths {g.shape[-2]}; "
                             "resample the ground truths with resample_to_length first")


def check_speakers(preds: list[np.ndarray], speakers: list[np.ndarray]) -> None:
    if len(preds) != len(speakers):
        raise ValueError(f"{len(preds)} inputs of predictions but {len(speakers)} speakers")
    for i, (p, s) in enumerate(zip(preds, speakers, strict=True)):
        if p.shape[-2] != s.shape[0]:
            raise ValueError(f"input {i}: predictions have {p.shape[-2]} frames, the speaker {s.shape[0]}")
