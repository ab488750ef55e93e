"""The reaction vector: the one place that names the 25 per-frame attributes of REACT/MARS.

Every other module refers to these names, slices and ranges instead of magic numbers.

Layout of a reaction frame (see shared REACT_FACTS.md):
    [0:15]   AU occurrence probabilities (0..1), FACS order below
    [15:17]  valence, arousal (-1..1)
    [17:25]  expression probabilities (0..1, sum to 1): Neutral ... Contempt

The AU order is *unconfirmed* for MARS; it is kept in one tuple so a data set with another order
needs one change here (or a permutation at load time), nowhere else.
"""
from __future__ import annotations

import numpy as np

FPS = 30.0
AUDIO_SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = int(AUDIO_SAMPLE_RATE / FPS)  # 533 (533.33): audio features align on frame times

AU_NAMES: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU23", "AU24", "AU25", "AU26",
)
AFFECT_NAMES: tuple[str, ...] = ("valence", "arousal")
EXPRESSION_NAMES: tuple[str, ...] = (
    "Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt",
)

AU = slice(0, 15)
AFFECT = slice(15, 17)
VALENCE = 15
AROUSAL = 16
EXPRESSION = slice(17, 25)

ATTRIBUTE_NAMES: tuple[str, ...] = AU_NAMES + AFFECT_NAMES + EXPRESSION_NAMES
REACTION_DIM = len(ATTRIBUTE_NAMES)  # 25

# Per-dimension valid range; the model's outputs are clipped to it before they reach a robot.
LOWER = np.array([0.0] * 15 + [-1.0, -1.0] + [0.0] * 8, dtype=np.float32)
UPPER = np.ones(REACTION_DIM, dtype=np.float32)

# Plain-language meaning of each AU, for plots, docs and robot profiles.
AU_DESCRIPTIONS: dict[str, str] = {
    "AU1": "inner brow raiser", "AU2": "outer brow raiser", "AU4": "brow lowerer",
    "AU6": "cheek raiser", "AU7": "lid tightener", "AU9": "nose wrinkler",
    "AU10": "upper lip raiser", "AU12": "lip corner puller (smile)", "AU14": "dimpler",
    "AU15": "lip corner depressor", "AU17": "chin raiser", "AU23": "lip tightener",
    "AU24": "lip pressor", "AU25": "lips part", "AU26": "jaw drop",
}


def index_of(name: str) -> int:
    """Index of an attribute by name ("AU12", "valence", "Happy")."""
    try:
        return ATTRIBUTE_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown reaction attribute {name!r}; known: {', '.join(ATTRIBUTE_NAMES)}") from None


def neutral_frame() -> np.ndarray:
    """A calm, neutral face: no AUs, zero affect, the Neutral expression."""
    frame = np.zeros(REACTION_DIM, dtype=np.float32)
    frame[EXPRESSION.start + EXPRESSION_NAMES.index("Neutral")] = 1.0
    return frame


def clip_to_range(reactions: np.ndarray) -> np.ndarray:
    """Clip (..., 25) reactions into their valid ranges (NaN becomes the neutral value)."""
    out = np.asarray(reactions, dtype=np.float32)
    out = np.where(np.isfinite(out), out, neutral_frame())
    return np.clip(out, LOWER, UPPER)


def check_reactions(array: np.ndarray, source: str, tolerance: float = 1e-3) -> np.ndarray:
    """Validate a (T, 25) attribute array; raise ValueError naming `source` and the problem."""
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != REACTION_DIM:
        raise ValueError(
            f"{source}: expected facial attributes of shape (frames, {REACTION_DIM}) "
            f"[15 AUs, valence, arousal, 8 expressions], got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{source}: no frames")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{source}: attributes must be numeric, got dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        frame, dim = np.argwhere(bad)[0]
        raise ValueError(
            f"{source}: {int(bad.sum())} non-finite values (first at frame {frame}, {ATTRIBUTE_NAMES[dim]})"
        )
    low = array < LOWER - tolerance
    high = array > UPPER + tolerance
    if low.any() or high.any():
        frame, dim = np.argwhere(low | high)[0]
        raise ValueError(
            f"{source}: value {array[frame, dim]:.3f} of {ATTRIBUTE_NAMES[dim]} at frame {frame} is outside "
            f"[{LOWER[dim]:.0f}, {UPPER[dim]:.0f}]"
        )
    return array.astype(np.float32, copy=False)


# The 52 ARKit blendshapes (Apple's ARFaceAnchor.BlendShapeLocation names and order): what avatar tools, VRM
# "perfect sync" models and the human-style face read. The reaction -> weights map is a robot profile
# (config/robots/arkit_blendshapes.yaml, react_ros.robot.arkit).
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)

# Layout of the optional 58-d FaceVerse 3DMM coefficients (MARS `coefficients/*.npy`).
COEFFS_3DMM_DIM = 58
COEFFS_EXPRESSION = slice(0, 52)
COEFFS_ROTATION = slice(52, 55)  # pitch, yaw, roll in radians (order unconfirmed for MARS)
COEFFS_TRANSLATION = slice(55, 58)
