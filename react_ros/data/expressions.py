"""Expression probabilities from AUs and affect: one softmax shared by the synthetic data writer.

Real MARS attributes come from a facial analysis network; here we need a smooth, plausible coupling
so that the 8 expression probabilities move together with the AUs and valence/arousal that drive them.
"""
from __future__ import annotations

import numpy as np

from react_ros import schema


def _au(aus: np.ndarray, name: str) -> np.ndarray:
    return aus[..., schema.AU_NAMES.index(name)]


def expression_probabilities(aus: np.ndarray, valence: np.ndarray, arousal: np.ndarray,
                             temperature: float = 0.6) -> np.ndarray:
    """(..., 15) AUs, (...) valence and arousal -> (..., 8) probabilities in EXPRESSION_NAMES order."""
    activity = aus.sum(axis=-1) / 4.0
    logits = np.stack([
        1.2 - activity,                                                            # Neutral
        2.5 * _au(aus, "AU12") + 0.8 * _au(aus, "AU6") + 1.2 * valence,            # Happy
        1.8 * _au(aus, "AU15") + 0.8 * _au(aus, "AU1") - 1.2 * valence - 0.4,      # Sad
        1.2 * (_au(aus, "AU1") + _au(aus, "AU2")) + _au(aus, "AU26") + 0.6 * arousal - 0.6,  # Surprise
        0.8 * _au(aus, "AU1") + 0.6 * _au(aus, "AU4") + 0.5 * arousal - 0.8 * valence - 1.4,  # Fear
        2.0 * _au(aus, "AU9") + 1.2 * _au(aus, "AU10") - 0.5 * valence - 1.0,      # Disgust
        1.8 * _au(aus, "AU4") + 0.8 * _au(aus, "AU23") - 0.8 * valence + 0.4 * arousal - 1.0,  # Anger
        1.5 * _au(aus, "AU14") - 0.3 * valence - 1.5,                              # Contempt
    ], axis=-1) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)
