"""MediaPipe's BlazeFace detector and FaceMesh landmarker, run from their .tflite files by LiteRT.

Why not `import mediapipe`: mediapipe 0.10.14 (the last release whose wheel ships these models) pins
protobuf<5, while the project's onnx needs protobuf>=6, and its legacy graphs fail on protobuf 6/7
(`FieldDescriptor.label`, `GetPrototype` removed). The model files are Apache-2.0 and small, so they are
bundled in `react_ros/assets/face_models/` (copied unchanged from the mediapipe 0.10.14 wheel, licence
beside them, sha256 in README there) and run with Google's own TFLite runtime (`ai-edge-litert`).
What mediapipe's graph did around them is re-done here, following its calculators' options:

- BlazeFace short range (`face_detection_short_range.pbtxt`): the frame letterboxed to 128x128 in -1..1,
  896 SSD anchors (strides 8, 16, 16, 16; 2 + 6 per cell), boxes and 6 keypoints decoded with scale 128,
  sigmoid scores >= `min_score`, weighted non-maximum suppression at IoU 0.3. The full-range sparse model
  is the same at 192x192 with 2304 anchors (stride 4, one per cell).
- FaceMesh (`face_landmark_front_cpu.pbtxt`, without the attention/iris model whose custom ops LiteRT
  lacks): a 192x192 crop in 0..1 of a square region 1.5x the face, rotated so that the eyes are level;
  468 landmarks (x, y in crop pixels, z relative depth) and a face-presence logit. Between frames the
  region follows the previous landmarks (eye corners 33 and 263 set the rotation).

Images are BGR uint8 (the project's camera convention); the models see RGB.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

__all__ = ["Detection", "Landmarks", "BlazeFaceDetector", "FaceMeshLandmarker", "Roi", "roi_from_detection",
           "roi_from_landmarks", "model_path", "interpreter"]

_MODEL_DIR = "assets/face_models"
DETECTOR_FILE = "face_detection_short_range.tflite"
FULL_RANGE_DETECTOR_FILE = "face_detection_full_range_sparse.tflite"
LANDMARKER_FILE = "face_landmark.tflite"


def model_path(name: str) -> str:
    return str(resources.files("react_ros").joinpath(_MODEL_DIR, name))


def interpreter(name: str, threads: int):
    """A LiteRT interpreter of one of the bundled models, tensors allocated."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415 (only the mesh front end needs it)
    except ImportError as error:
        raise ImportError("the mesh face front end needs the LiteRT runtime: pip install ai-edge-litert "
                          "(scripts/setup.sh installs it)") from error
    interpreter = Interpreter(model_path=model_path(name), num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in image pixels
    keypoints: np.ndarray  # (6, 2) pixels: right eye, left eye, nose tip, mouth, right ear, left ear
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class Roi:
    """A square, rotated region of the image: centre (pixels), side (pixels), rotation (radians)."""
    cx: float
    cy: float
    size: float
    angle: float

    def crop_to_image(self, side: int) -> np.ndarray:
        """2x3 affine map from crop pixels (side x side) to image pixels."""
        scale = self.size / side
        c, s = math.cos(self.angle) * scale, math.sin(self.angle) * scale
        # image = centre + R * (crop - side/2) * scale
        return np.array([[c, -s, self.cx - c * side / 2 + s * side / 2],
                         [s, c, self.cy - s * side / 2 - c * side / 2]], dtype=np.float64)


@dataclass(frozen=True)
class Landmarks:
    points: np.ndarray  # (468, 3) float32: x, y in image pixels, z in the same pixel scale (relative depth)
    score: float  # face presence probability from the landmark model


def _ssd_anchors(side: int, layers: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(N, 2) anchor centres in 0..1 (fixed anchor size 1); layers: (stride, anchors per cell)."""
    centres = []
    for stride, per_cell in layers:
        grid = side // stride
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box with (N, 4) boxes."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


class BlazeFaceDetector:
    """BGR image -> faces (boxes, 6 keypoints, scores), largest first.

    full_range=False: the short-range model (128x128, 896 anchors, faces within ~2 m of a webcam);
    full_range=True: the full-range sparse model (192x192, 48x48 anchors at stride 4, smaller faces further
    away, e.g. a group photo), about 2-3x the cost.
    """

    def __init__(self, min_score: float = 0.5, threads: int = 1, full_range: bool = False) -> None:
        self.min_score = float(min_score)
        self.SIDE = 192 if full_range else 128
        self._interpreter = interpreter(FULL_RANGE_DETECTOR_FILE if full_range else DETECTOR_FILE, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = sorted(self._interpreter.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self._regressors = outputs[0]["index"]  # (1, N, 16) boxes and keypoints, then (1, N, 1) scores
        self._scores = outputs[1]["index"]
        self._anchors = _ssd_anchors(self.SIDE, ((4, 1),) if full_range else ((8, 2), (16, 6)))

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        side = max(height, width)
        scale = self.SIDE / side
        # letterbox: the whole frame, centred in a square, as mediapipe's ImageToTensor with keep_aspect_ratio
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        pad_x, pad_y = (self.SIDE - new_w) // 2, (self.SIDE - new_h) // 2
        tensor = np.zeros((self.SIDE, self.SIDE, 3), np.float32)
        tensor[pad_y:pad_y + new_h, pad_x:pad_x + new_w] = resized[:, :, ::-1] / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._regressors)[0]
        logits = np.clip(self._interpreter.get_tensor(self._scores)[0, :, 0].astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        centre = raw[:, 0:2] / self.SIDE + anchors
        half = raw[:, 2:4] / self.SIDE / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)  # x0, y0, x1, y1 in 0..1 of the square
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) / self.SIDE + anchors[:, None, :]
        detections = []
        order = np.argsort(-scores)
        remaining = order
        while remaining.size:  # weighted NMS: overlapping boxes are averaged by score
            best = remaining[0]
            overlap = _iou(boxes[best], boxes[remaining])
            group = remaining[overlap > 0.3]
            remaining = remaining[overlap <= 0.3]
            weights = scores[group][:, None]
            box = (boxes[group] * weights).sum(0) / weights.sum()
            points = (keypoints[group] * weights[:, :, None]).sum(0) / weights.sum()
            # back from the letterboxed square (0..1) to image pixels
            to_px = np.array([side, side]) * 1.0
            offset = np.array([pad_x, pad_y]) / scale
            x0, y0 = box[:2] * to_px - offset
            x1, y1 = box[2:] * to_px - offset
            detections.append(Detection(box=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)),
                                        keypoints=(points * to_px - offset).astype(np.float32),
                                        score=float(scores[best])))
        detections.sort(key=lambda d: -d.area)
        return detections


def _angle(start: np.ndarray, end: np.ndarray) -> float:
    return math.atan2(float(end[1] - start[1]), float(end[0] - start[0]))


def roi_from_detection(detection: Detection) -> Roi:
    x, y, w, h = detection.box
    return Roi(cx=x + w / 2, cy=y + h / 2, size=1.5 * max(w, h),
               angle=_angle(detection.keypoints[0], detection.keypoints[1]))


def roi_from_landmarks(points: np.ndarray) -> Roi:
    """Next frame's region from this frame's landmarks (mediapipe's FaceLandmarkLandmarksToRoi)."""
    angle = _angle(points[33], points[263])
    c, s = math.cos(-angle), math.sin(-angle)
    centre = points[:, :2].mean(0)
    local = (points[:, :2] - centre) @ np.array([[c, s], [-s, c]])  # into the face's own axes
    low, high = local.min(0), local.max(0)
    mid = (low + high) / 2
    cx = centre[0] + mid[0] * math.cos(angle) - mid[1] * math.sin(angle)
    cy = centre[1] + mid[0] * math.sin(angle) + mid[1] * math.cos(angle)
    return Roi(cx=float(cx), cy=float(cy), size=float(1.5 * max(high - low)), angle=angle)


class FaceMeshLandmarker:
    """BGR image + region -> 468 landmarks in image pixels and a presence score."""

    SIDE = 192

    def __init__(self, threads: int = 1) -> None:
        self._interpreter = interpreter(LANDMARKER_FILE, threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._points = outputs["conv2d_21"]
        self._flag = outputs["conv2d_31"]

    def landmarks(self, bgr: np.ndarray, roi: Roi) -> Landmarks:
        to_image = roi.crop_to_image(self.SIDE)
        crop = cv2.warpAffine(bgr, to_image, (self.SIDE, self.SIDE),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)
        tensor = crop[:, :, ::-1].astype(np.float32) / 255.0
        self._interpreter.set_tensor(self._input, tensor[None])
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._points).reshape(468, 3)
        logit = float(np.clip(self._interpreter.get_tensor(self._flag).ravel()[0], -100.0, 100.0))
        points = np.empty((468, 3), np.float32)
        points[:, :2] = raw[:, :2] @ to_image[:, :2].T + to_image[:, 2]
        points[:, 2] = raw[:, 2] * roi.size / self.SIDE
        return Landmarks(points=points, score=1.0 / (1.0 + math.exp(-logit)))
