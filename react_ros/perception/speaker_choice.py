"""Which of the faces in view is the speaker: size and centrality, or, when there is audio, who is talking.

The rule, per detection pass (every `detect_every`-th frame of the mesh front end):
- **No speaker yet, or the speaker's face is gone** (no face overlaps its last box, IoU <= 0.3): the face with the
  best area times centrality (1 at the image centre, falling linearly to 0.5 at a corner: the person the camera
  is pointed at) becomes the speaker, a new track (the session resets the model's context, the front end the
  neutral baseline: a new person).
- **No audio** (no audio rows in the last second, `RecentVoice`): size and centrality. A different face takes over
  only after scoring at least 1.5x the speaker in every pass for 0.5 s (5 passes at detect_every=3).
- **Audio** (active speaker): the face that talks while the voice is on. Each face's mouth motion is the standard
  deviation of its inner-lip opening (inter-ocular units, from FaceMesh on that face) over its last 10 passes
  (about 1 s; faces are followed from pass to pass by box overlap). While someone is speaking (the energy gate of
  at least 30 % of the last 0.5 s of audio rows), a face takes over when its mouth moves at least
  MIN_MOUTH_MOTION and at least twice the speaker's, in every pass for 0.5 s. While nobody speaks the speaker is
  kept: a listener who stops talking stays the person the robot answers, whatever their size. The voice alone
  cannot say who speaks (one microphone), the mouth alone cannot say a mouth is speaking (chewing, laughing
  silently); both are needed.
Lip openings are measured only when there are several faces and audio, so one face costs nothing extra.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from react_ros.perception.face_models import Detection

__all__ = ["MIN_MOUTH_MOTION", "RecentVoice", "SpeakerTracker", "box_iou"]

# Talking moves the inner lips 0.02-0.12 inter-ocular units at the syllable rate (rendered and real faces,
# docs/perception.md); a still mouth's opening varies by less than 0.005 from pass to pass.
MIN_MOUTH_MOTION = 0.015


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    h = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = w * h
    return inter / max(aw * ah + bw * bh - inter, 1e-9)


class RecentVoice:
    """Is someone speaking now? From the energy gate of the audio feature rows (audio_features.voice_activity),
    on the front end's frame clock: None when no audio row arrived in the last `audio_timeout_frames` frames."""

    def __init__(self, speech_frames: int = 15, audio_timeout_frames: int = 30, min_fraction: float = 0.3) -> None:
        self.speech_frames, self.audio_timeout_frames = int(speech_frames), int(audio_timeout_frames)
        self.min_fraction = float(min_fraction)
        self.reset()

    def reset(self) -> None:
        self._rows: deque[tuple[int, bool]] = deque()

    def hear(self, active: np.ndarray, now: int) -> None:
        """The gate's verdict for each new audio row, arriving at frame `now`."""
        self._rows.extend((now, bool(a)) for a in np.asarray(active, bool).ravel())
        while self._rows and self._rows[0][0] < now - self.audio_timeout_frames:
            self._rows.popleft()

    def state(self, now: int) -> bool | None:
        """None: no audio lately; True: speech in at least min_fraction of the last speech_frames' rows."""
        while self._rows and self._rows[0][0] < now - self.audio_timeout_frames:
            self._rows.popleft()
        if not self._rows:
            return None
        recent = [a for at, a in self._rows if at >= now - self.speech_frames]
        return bool(recent) and float(np.mean(recent)) >= self.min_fraction


class SpeakerTracker:
    """Which of the faces found in a detection pass is the speaker (the rule in the module doc)."""

    def __init__(self, min_iou: float = 0.3, takeover_ratio: float = 1.5, takeover_frames: int = 15,
                 mouth_window: int = 10, min_mouth_motion: float = MIN_MOUTH_MOTION, talk_ratio: float = 2.0) -> None:
        self.min_iou, self.takeover_ratio, self.takeover_frames = min_iou, takeover_ratio, int(takeover_frames)
        self.mouth_window, self.min_mouth_motion, self.talk_ratio = int(mouth_window), min_mouth_motion, talk_ratio
        self.reset()

    def reset(self) -> None:
        self.box: tuple[float, float, float, float] | None = None
        self.track_id = 0  # changes whenever a different person becomes the speaker
        self._challenger = 0
        self._mouths: list[tuple[tuple[float, float, float, float], list[float]]] = []  # last pass: box, openings

    @staticmethod
    def score(detection: Detection, image_size: tuple[int, int] | None = None) -> float:
        """Area times centrality: 1 at the image centre, 0.5 at a corner (no image size: the area alone)."""
        if image_size is None:
            return detection.area
        width, height = image_size
        x, y, w, h = detection.box
        off = np.hypot((x + w / 2) / width - 0.5, (y + h / 2) / height - 0.5) / np.hypot(0.5, 0.5)
        return detection.area * (1.0 - 0.5 * min(1.0, float(off)))

    def mouth_motion(self, detections: list[Detection], mouths: list[float | None] | None) -> list[float]:
        """Each face's lip-opening spread over its recent passes (0 until 3 are known); follows faces by overlap."""
        if mouths is None:
            self._mouths = []
            return [0.0] * len(detections)
        histories = []
        for detection, opening in zip(detections, mouths, strict=True):
            matches = [(box_iou(box, detection.box), history) for box, history in self._mouths]
            best = max(matches, key=lambda pair: pair[0], default=(0.0, []))
            history = list(best[1]) if best[0] > self.min_iou else []
            if opening is not None and np.isfinite(opening):
                history = (history + [float(opening)])[-self.mouth_window:]
            histories.append((detection.box, history))
        self._mouths = histories
        return [float(np.std(history)) if len(history) >= 3 else 0.0 for _, history in histories]

    def choose(self, detections: list[Detection], image_size: tuple[int, int] | None = None,
               mouths: list[float | None] | None = None, voice: bool | None = None) -> Detection | None:
        """The speaker among this pass's faces. image_size (width, height) lets centrality count; `mouths`: each
        face's inner-lip opening (None: not measured); `voice`: None without audio, else whether someone speaks."""
        if not detections:
            self.box, self._mouths, self._challenger = None, [], 0
            return None
        motion = self.mouth_motion(detections, mouths)
        scores = [self.score(d, image_size) for d in detections]
        current = None
        if self.box is not None:
            best_iou, best = max(((box_iou(self.box, d.box), k) for k, d in enumerate(detections)),
                                 key=lambda pair: pair[0])
            current = best if best_iou > self.min_iou else None
        if current is None:
            chosen, self._challenger = int(np.argmax(scores)), 0
            self.track_id += 1
        else:
            challenger = self._challenger_of(current, scores, motion, voice)
            self._challenger = self._challenger + 1 if challenger is not None else 0
            chosen = current
            if challenger is not None and self._challenger >= self.takeover_frames:
                chosen, self._challenger = challenger, 0
                self.track_id += 1
        self.box = detections[chosen].box
        return detections[chosen]

    def _challenger_of(self, current: int, scores: list[float], motion: list[float], voice: bool | None) -> int | None:
        """The face that would take over from the speaker in this pass, or None."""
        if voice is None:  # no audio: size and centrality
            largest = int(np.argmax(scores))
            return largest if largest != current and scores[largest] >= self.takeover_ratio * scores[current] else None
        if not voice:  # audio, nobody speaking: keep the speaker
            return None
        talker = int(np.argmax(motion))
        if (talker != current and motion[talker] >= self.min_mouth_motion
                and motion[talker] >= self.talk_ratio * motion[current]):
            return talker
        return None
