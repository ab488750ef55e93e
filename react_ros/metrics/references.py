"""Trivial reference "models" that every report should show beside a model (REACT practice).

Pure functions over arrays; each returns predictions shaped (N, K, L, 25), or a per-input list of
(K, L_i, 25) arrays when the inputs have different lengths.
- GT: the appropriate ground truths themselves (the oracle; cycles through them when G < K).
- Random: uniform within each dimension's schema range [LOWER, UPPER].
- Mime: the speaker's own attributes, repeated K times (perfect synchrony, no diversity).
- Delayed mimicry: the speaker's attributes `delay` frames later (the delay fitted on a training split with
  `react_ros.behaviours.fit_mimicry_delay`), repeated K times: what a robot that copies its partner shows.
- MeanSeq: the mean training sequence, resampled to each input's length.
- MeanFr: the mean training frame, constant over time.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from react_ros import schema
from react_ros.metrics.mimicry import delayed_copy
from react_ros.metrics.resample import resample_to_length


def gt_reference(gts: np.ndarray | Sequence[np.ndarray], k: int) -> np.ndarray | list[np.ndarray]:
    """The K predictions of an input are its ground truths 0..K-1 (cycling if G < K)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if isinstance(gts, np.ndarray):
        if gts.ndim != 4:
            raise ValueError(f"expected gts of shape (N, G, L, 25), got {gts.shape}")
        return gts[:, np.arange(k) % gts.shape[1]].copy()
    return [np.asarray(g)[np.arange(k) % len(g)].copy() for g in gts]


def random_reference(shape: tuple[int, ...] | Sequence[tuple[int, ...]],
                     rng: np.random.Generator) -> np.ndarray | list[np.ndarray]:
    """Uniform values in [LOWER, UPPER] per dim; shape (..., 25), or a list of shapes for a ragged list."""
    if len(shape) and not isinstance(shape[0], int | np.integer):
        return [random_reference(tuple(s), rng) for s in shape]
    if shape[-1] != schema.REACTION_DIM:
        raise ValueError(f"the last dimension must be {schema.REACTION_DIM}, got shape {tuple(shape)}")
    low = schema.LOWER.astype(np.float64)
    high = schema.UPPER.astype(np.float64)
    return (low + (high - low) * rng.random(tuple(shape))).astype(np.float32)


def mime_reference(speaker: np.ndarray | Sequence[np.ndarray], k: int) -> np.ndarray | list[np.ndarray]:
    """The speaker's own attributes (N, L, 25) as each of the K predictions."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if isinstance(speaker, np.ndarray):
        if speaker.ndim != 3:
            raise ValueError(f"expected speaker of shape (N, L, 25), got {speaker.shape}")
        return np.repeat(speaker[:, None], k, axis=1)
    return [np.repeat(np.asarray(s)[None], k, axis=0) for s in speaker]


def delayed_mimicry_reference(speaker: Sequence[np.ndarray], k: int, delay: int | Sequence[int]) -> list[np.ndarray]:
    """Each speaker (L_i, 25) copied `delay` frames later (one delay, or one per input), repeated K times."""
    delays = [delay] * len(speaker) if isinstance(delay, int | np.integer) else list(delay)
    if len(delays) != len(speaker):
        raise ValueError(f"{len(delays)} delays for {len(speaker)} inputs")
    return mime_reference([delayed_copy(s, int(d)) for s, d in zip(speaker, delays, strict=True)], k)


def meanseq_reference(train_mean_sequence: np.ndarray, n: int, k: int,
                      length: int | Sequence[int]) -> np.ndarray | list[np.ndarray]:
    """The (T, 25) mean training sequence resampled to `length` frames, for N inputs x K predictions.

    `length` may be a sequence of N per-input lengths (then a list is returned).
    """
    seq = np.asarray(train_mean_sequence, dtype=np.float64)
    if isinstance(length, int | np.integer):
        one = resample_to_length(seq, int(length)).astype(np.float32)
        return np.broadcast_to(one, (n, k, *one.shape)).copy()
    if len(length) != n:
        raise ValueError(f"{len(length)} lengths for {n} inputs")
    return [np.broadcast_to(resample_to_length(seq, int(ln)).astype(np.float32), (k, int(ln), seq.shape[1])).copy()
            for ln in length]


def meanfr_reference(train_mean_frame: np.ndarray, n: int, k: int,
                     length: int | Sequence[int]) -> np.ndarray | list[np.ndarray]:
    """The (25,) mean training frame held constant: (N, K, L, 25), or a list for per-input lengths."""
    frame = np.asarray(train_mean_frame, dtype=np.float32)
    if frame.shape != (schema.REACTION_DIM,):
        raise ValueError(f"expected a ({schema.REACTION_DIM},) frame, got {frame.shape}")
    if isinstance(length, int | np.integer):
        return np.broadcast_to(frame, (n, k, int(length), frame.size)).copy()
    if len(length) != n:
        raise ValueError(f"{len(length)} lengths for {n} inputs")
    return [np.broadcast_to(frame, (k, int(ln), frame.size)).copy() for ln in length]
