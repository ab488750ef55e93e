"""Video helpers: mp4 in/out via OpenCV, side-by-side tiles and labelled reaction videos."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.face.renderer import FaceRenderer

FOURCC = "mp4v"
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TEXT = (235, 235, 235)
_BAND = (25, 25, 25)
_SEPARATOR = (90, 90, 90)


def _as_bgr(frame: np.ndarray, where: str) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[:, :, None].repeat(3, axis=2)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"{where}: expected an (H, W, 3) BGR or (H, W) grey image, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return frame


def _even(frame: np.ndarray) -> np.ndarray:
    pad_y, pad_x = frame.shape[0] % 2, frame.shape[1] % 2
    if pad_y or pad_x:
        frame = cv2.copyMakeBorder(frame, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    return frame


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> int:
    """Write BGR uint8 frames to an mp4 ('mp4v'); creates parent folders; returns the number of frames.

    MPEG-4 needs even sizes: an odd width or height is padded by repeating the last column/row
    (the encoder would otherwise silently crop it).
    """
    path = Path(path)
    if not fps > 0:
        raise ValueError(f"write_video({path}): fps must be positive, got {fps}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"write_video: cannot create the folder for {path}: {error}") from error
    writer: cv2.VideoWriter | None = None
    shape = None
    count = 0
    try:
        for frame in frames:
            frame = _even(_as_bgr(frame, f"write_video({path}) frame {count}"))
            if writer is None:
                shape = frame.shape
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), float(fps),
                                         (shape[1], shape[0]))
                if not writer.isOpened():
                    raise OSError(f"write_video: cannot open a {FOURCC} video writer for {path} "
                                  f"({shape[1]}x{shape[0]} @ {fps} fps): unwritable location or unsupported "
                                  f"extension (use .mp4)")
            elif frame.shape != shape:
                raise ValueError(f"write_video({path}): frame {count} has shape {frame.shape}, "
                                 f"the first frame had {shape}")
            writer.write(np.ascontiguousarray(frame))
            count += 1
    finally:
        if writer is not None:
            writer.release()
    if count == 0:
        raise ValueError(f"write_video({path}): no frames to write")
    return count


def _open(path: str | Path) -> cv2.VideoCapture:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise OSError(f"cannot open video {path} (not a video, or an unsupported codec)")
    return capture


def iter_video(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the BGR frames of a video one by one (memory-light)."""
    capture = _open(path)
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


def read_video(path: str | Path) -> np.ndarray:
    """All frames of a video as a (T, H, W, 3) uint8 BGR array."""
    frames = list(iter_video(path))
    if not frames:
        raise ValueError(f"video {path} has no readable frames")
    return np.stack(frames)


def video_info(path: str | Path) -> tuple[int, float, int, int]:
    """(frames, fps, width, height) from the container header."""
    capture = _open(path)
    try:
        frames = int(round(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    finally:
        capture.release()
    return frames, fps, width, height


def _put_centered(img: np.ndarray, text: str, x0: int, x1: int, y0: int, y1: int) -> None:
    """Write `text` centred in a box, shrinking the font until it fits."""
    height = y1 - y0
    scale = height / 40.0
    thickness = max(1, round(height / 22))
    (w, h), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    if w > (x1 - x0) - 6:
        scale *= ((x1 - x0) - 6) / w
        (w, h), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    org = (x0 + ((x1 - x0) - w) // 2, y0 + (height + h) // 2)
    cv2.putText(img, text, org, _FONT, scale, _TEXT, thickness, cv2.LINE_AA)


def tile(frames: list[np.ndarray], labels: list[str] | None = None, band: int | None = None) -> np.ndarray:
    """Equal-height images side by side (2 px separators), with a caption band on top when labels are given."""
    if not frames:
        raise ValueError("tile: no images")
    images = [_as_bgr(f, f"tile image {i}") for i, f in enumerate(frames)]
    height = images[0].shape[0]
    for i, image in enumerate(images):
        if image.shape[0] != height:
            raise ValueError(f"tile: image {i} is {image.shape[0]} px high, image 0 is {height} px")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"tile: {len(labels)} labels for {len(images)} images")
    separator = np.empty((height, 2, 3), dtype=np.uint8)
    separator[:] = _SEPARATOR
    parts: list[np.ndarray] = []
    for i, image in enumerate(images):
        if i:
            parts.append(separator)
        parts.append(image)
    row = np.hstack(parts)
    if labels is None:
        return row
    band = band or max(16, height // 10)
    caption = np.empty((band, row.shape[1], 3), dtype=np.uint8)
    caption[:] = _BAND
    x = 0
    for image, label in zip(images, labels, strict=True):
        _put_centered(caption, label, x, x + image.shape[1], 0, band)
        x += image.shape[1] + 2
    return np.vstack([caption, row])


def _stamp(frame: np.ndarray, index: int, fps: float) -> np.ndarray:
    """Add a footer with the frame number and time, so reviewers can cite moments."""
    band = max(14, frame.shape[0] // 16)
    footer = np.empty((band, frame.shape[1], 3), dtype=np.uint8)
    footer[:] = _BAND
    text = f"{index / fps:6.2f} s  frame {index}"
    scale = band / 34.0
    (_, h), _ = cv2.getTextSize(text, _FONT, scale, 1)
    cv2.putText(footer, text, (6, (band + h) // 2), _FONT, scale, (180, 180, 180), 1, cv2.LINE_AA)
    return np.vstack([frame, footer])


def render_reactions_video(path: str | Path, columns: dict[str, np.ndarray], fps: float = 30.0, size: int = 256,
                           head_poses: dict[str, np.ndarray] | None = None) -> int:
    """Side-by-side labelled video of several (T, 25) reaction sequences (e.g. speaker | listener | generated).

    All columns must have the same number of frames; head_poses maps a column name to its (T, 3) pitch/yaw/roll.
    Returns the number of frames written.
    """
    if not columns:
        raise ValueError(f"render_reactions_video({path}): no columns")
    head_poses = head_poses or {}
    unknown = set(head_poses) - set(columns)
    if unknown:
        raise ValueError(f"render_reactions_video({path}): head_poses for unknown columns {sorted(unknown)}")
    arrays = {}
    for name, reactions in columns.items():
        reactions = np.asarray(reactions, dtype=np.float32)
        if reactions.ndim != 2 or reactions.shape[1] != schema.REACTION_DIM:
            raise ValueError(f"render_reactions_video: column {name!r} must have shape (T, {schema.REACTION_DIM}), "
                             f"got {reactions.shape}")
        arrays[name] = reactions
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"render_reactions_video({path}): columns differ in length: {lengths}")
    renderer = FaceRenderer(size=size)
    streams = [renderer.render_sequence(a, head_poses.get(name)) for name, a in arrays.items()]
    labels = list(arrays)

    def frames() -> Iterator[np.ndarray]:
        for index, images in enumerate(zip(*streams, strict=True)):
            yield _stamp(tile(list(images), labels), index, fps)

    return write_video(path, frames(), fps=fps)
