"""Delayed copies of the speaker: the delayed-mimicry reference (offline) and the fit of its delay on a training
split. The streaming robot behaviour is `react_ros.behaviours.DelayedMimicry`."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from react_ros.metrics.ccc import ccc_matrix


def delayed_copy(speaker: np.ndarray, delay: int) -> np.ndarray:
    """speaker (L, D) shifted `delay` frames later along time, holding its first frame: out[t] = speaker[t - d]."""
    speaker = np.asarray(speaker)
    if delay < 0:
        raise ValueError(f"the delay must be >= 0 frames (a robot cannot copy the future), got {delay}")
    if speaker.ndim != 2 or len(speaker) == 0:
        raise ValueError(f"expected a (L, D) sequence with L >= 1, got shape {speaker.shape}")
    index = np.maximum(np.arange(len(speaker)) - delay, 0)
    return speaker[index].copy()


def fit_mimicry_delay(speakers: Sequence[np.ndarray], reactions: Sequence[np.ndarray],
                      max_delay: int = 60) -> tuple[int, np.ndarray]:
    """The delay in [0, max_delay] frames whose delayed copy of each speaker best matches its paired reaction.

    Criterion: FRCorr against the paired real reaction, i.e. the mean over inputs of the mean-over-25-dims
    CCC of `delayed_copy(speaker, d)` with the reaction (the same score the evaluation reports per
    prediction). Returns (best delay, (max_delay + 1,) score per delay); ties go to the shorter delay.
    """
    if len(speakers) != len(reactions) or not speakers:
        raise ValueError(f"need as many reactions as speakers (at least one), got {len(speakers)} and {len(reactions)}")
    scores = np.zeros(max_delay + 1)
    for speaker, reaction in zip(speakers, reactions, strict=True):
        reaction = np.asarray(reaction, np.float64)
        if np.shape(speaker) != reaction.shape:
            raise ValueError(f"speaker {np.shape(speaker)} and reaction {reaction.shape} differ in shape")
        copies = np.stack([delayed_copy(speaker, d) for d in range(max_delay + 1)])
        scores += ccc_matrix(copies, reaction[None])[:, 0].mean(axis=1)
    scores /= len(speakers)
    return int(np.argmax(scores)), scores
