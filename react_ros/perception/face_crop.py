"""Speaker face crops for the attribute estimator: (crop_size, crop_size) gray uint8, or a clear "no face".

Two modes:
- "haar": a camera frame. OpenCV's frontal-face Haar cascade (bundled in opencv-python-headless < 5)
  on a downscaled, histogram-equalised copy; the largest face wins; its box is widened by `margin`, made
  square, smoothed over time (exponential smoothing, restarted after the face is lost) and held for
  `hold_frames` frames of missed detections before the cropper declares `present=False`, so one missed
  detection does not blank the speaker stream.
- "full_frame": the input already is a face crop (MARS video-face-crop videos, ROS4HRI
  /humans/faces/<id>/cropped): the centre square is resized; only an empty or uniform image (gray std
  below `uniform_std`) is "no face". This is the default for face-crop inputs.

The project's rendered cartoon faces (react_ros.face.renderer) ARE found by this cascade: every frontal
render tried (random reactions, 96/128/256 px, alone or pasted into a 640x480 frame), about 90 % of single
frames with yaw/pitch/roll each up to +-0.4 rad and 60-75 % up to +-0.6 rad (where `hold_frames` helps).
So synthetic camera scenes can exercise "haar" mode; the synthetic clips themselves are face crops and
use "full_frame".

Any input is accepted (None, zero-size, gray, BGR, BGRA, (H, W, 1), float or uint16 images); what
cannot be read is reported as no face, never raised, because a node must not crash on a bad frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from react_ros.perception.image import as_uint8_image

__all__ = ["Box", "FaceCrop", "FaceCropper", "to_gray_uint8", "HAAR_CASCADE"]

HAAR_CASCADE = "haarcascade_frontalface_default.xml"
Box = tuple[int, int, int, int]  # x, y, w, h in pixels of the input image


@dataclass(frozen=True)
class FaceCrop:
    image: np.ndarray | None  # (crop_size, crop_size) uint8 gray, None when no face
    box: Box | None  # region of the input the crop was taken from (may extend past the border)
    present: bool


_ABSENT = FaceCrop(image=None, box=None, present=False)


def to_gray_uint8(image: np.ndarray | None) -> np.ndarray | None:
    """Gray uint8 (H, W) from any image `as_uint8_image` reads; None if unusable."""
    array = as_uint8_image(image)
    if array is None or array.ndim == 2:
        return array
    return cv2.cvtColor(array, cv2.COLOR_BGR2GRAY if array.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)


def _crop_resize(gray: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Square region (may lie partly outside the image: edges are replicated) -> (size, size)."""
    x, y, w, h = box
    height, width = gray.shape
    pad_left, pad_top = max(0, -x), max(0, -y)
    pad_right, pad_bottom = max(0, x + w - width), max(0, y + h - height)
    inside = gray[max(0, y):min(height, y + h), max(0, x):min(width, x + w)]
    if inside.size == 0:
        return np.zeros((size, size), dtype=np.uint8)
    if pad_left or pad_top or pad_right or pad_bottom:
        inside = cv2.copyMakeBorder(inside, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    # INTER_AREA averages when shrinking (no aliasing), INTER_LINEAR when a tiny crop is enlarged.
    interpolation = cv2.INTER_AREA if inside.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(inside, (size, size), interpolation=interpolation)


class FaceCropper:
    """Camera frame or face image -> FaceCrop. Stateful in "haar" mode (smoothing, hold); call reset() per stream."""

    def __init__(self, mode: Literal["haar", "full_frame"] = "full_frame", crop_size: int = 64,
                 min_face_fraction: float = 0.15, smoothing: float = 0.5, margin: float = 0.15,
                 hold_frames: int = 5, uniform_std: float = 3.0, detect_size: int = 320,
                 scale_factor: float = 1.1, min_neighbors: int = 4) -> None:
        """
        mode: "haar" for camera frames, "full_frame" for images that already are face crops.
        min_face_fraction: smallest face side as a fraction of the image's shorter side.
        smoothing: weight of the previous box in the exponential smoothing (0 = no smoothing, < 1).
        margin: the detected box grows by this fraction of its side on every side (forehead, chin).
        hold_frames: missed detections tolerated (last box reused) before declaring no face.
        uniform_std: gray standard deviation (0..255) below which an image counts as empty.
        detect_size: the longer image side is scaled down to this for detection (speed).
        """
        if mode not in ("haar", "full_frame"):
            raise ValueError(f"FaceCropper: mode must be 'haar' or 'full_frame', got {mode!r}")
        if crop_size < 8:
            raise ValueError(f"FaceCropper: crop_size must be >= 8, got {crop_size}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"FaceCropper: smoothing must be in [0, 1), got {smoothing}")
        if not 0.0 < min_face_fraction <= 1.0:
            raise ValueError(f"FaceCropper: min_face_fraction must be in (0, 1], got {min_face_fraction}")
        self.mode = mode
        self.crop_size = int(crop_size)
        self.min_face_fraction = float(min_face_fraction)
        self.smoothing = float(smoothing)
        self.margin = float(margin)
        self.hold_frames = int(hold_frames)
        self.uniform_std = float(uniform_std)
        self.detect_size = int(detect_size)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)
        self._cascade: cv2.CascadeClassifier | None = None
        if mode == "haar":
            self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + HAAR_CASCADE)
            if self._cascade.empty():
                raise RuntimeError(f"FaceCropper: cannot load {cv2.data.haarcascades + HAAR_CASCADE} "
                                   "(opencv-python-headless 5.x no longer ships Haar cascades; use < 5)")
        self.reset()

    def reset(self) -> None:
        """Forget the tracked box (a new person or a new clip)."""
        self._box: np.ndarray | None = None  # smoothed (cx, cy, side) in input pixels
        self._missed = 0

    def crop(self, image_bgr: np.ndarray | None) -> FaceCrop:
        gray = to_gray_uint8(image_bgr)
        if gray is None:
            return self._lost()
        if self.mode == "full_frame":
            return self._full_frame(gray)
        return self._haar(gray)

    __call__ = crop

    # ------------------------------------------------------------------------------------- modes

    def _full_frame(self, gray: np.ndarray) -> FaceCrop:
        if float(gray.std()) < self.uniform_std:
            return _ABSENT
        height, width = gray.shape
        side = min(height, width)  # centre square: a face crop is centred, and stretching would distort it
        box = ((width - side) // 2, (height - side) // 2, side, side)
        return FaceCrop(image=_crop_resize(gray, box, self.crop_size), box=box, present=True)

    def _detect(self, gray: np.ndarray) -> np.ndarray | None:
        """Largest face as (cx, cy, side) in input pixels, or None."""
        assert self._cascade is not None
        height, width = gray.shape
        scale = min(1.0, self.detect_size / max(height, width))
        small = gray
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_side = max(24, int(self.min_face_fraction * min(small.shape)))  # the cascade's window is 24 px
        if min(small.shape) < min_side:
            return None
        faces = self._cascade.detectMultiScale(cv2.equalizeHist(small), scaleFactor=self.scale_factor,
                                               minNeighbors=self.min_neighbors, minSize=(min_side, min_side))
        if len(faces) == 0:
            return None
        x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3])) / scale
        return np.array([x + w / 2, y + h / 2, max(w, h)], dtype=np.float64)

    def _haar(self, gray: np.ndarray) -> FaceCrop:
        if float(gray.std()) < self.uniform_std:
            # Blank frame (lens cap, dropped image): no face at once, a held box would crop nothing.
            return self._lost()
        detection = self._detect(gray)
        if detection is None:
            self._missed += 1
            if self._box is None or self._missed > self.hold_frames:
                return self._lost()
        else:
            self._missed = 0
            # Exponential smoothing of centre and size removes the detector's frame-to-frame jitter.
            previous = detection if self._box is None else self._box
            self._box = self.smoothing * previous + (1.0 - self.smoothing) * detection
        cx, cy, side = self._box
        side = side * (1.0 + 2.0 * self.margin)
        box = (int(round(cx - side / 2)), int(round(cy - side / 2)), int(round(side)), int(round(side)))
        return FaceCrop(image=_crop_resize(gray, box, self.crop_size), box=box, present=True)

    def _lost(self) -> FaceCrop:
        self._box = None  # the next detection starts a fresh track: no smoothing from a stale position
        self._missed = 0
        return _ABSENT
