"""`react-ros perceive`: videos (and wavs) through the mesh front end -> MARS-format attribute files.

One clip -> three arrays, one row per video frame (MARS clips are 30 fps; other rates are not resampled):
    facial-attributes/<clip>.npy       (T, 25) float32, the MARS facial-attributes format (schema.py order)
    facial-attributes-mask/<clip>.npy  (T, 25) bool, True where the value was measured; an all-False row
                                       means the speaker was absent (no face, occluded or turned away);
                                       AU9 and AU14 are never measured (face_attributes.NOT_MEASURED)
    voice-features/<clip>.npy          (T, 6) float32, voice.VOICE_FEATURE_NAMES (only with a wav)
The mask and voice live in sibling directories, not beside the attributes, so a MARS reader that lists
facial-attributes/ never mistakes them for clips. Files are written to a temporary name and renamed, so
an interrupted run leaves no half-written output, and a re-run skips clips whose attributes exist.

Tree mode: a MARS-layout root in, the same layout out (`<out>/<split>/facial-attributes/<role>/<session>/
<clip>.npy`, ...), video from video-raw/ when present, else video-face-crop/, audio from audio/; clips are
spread over `jobs` processes, each with its own front end.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.data.perceived import ATTRIBUTES_DIR, MASK_DIR, VOICE_DIR  # one home: the reader of these trees

__all__ = ["MASK_DIR", "VOICE_DIR", "ATTRIBUTES_DIR", "PREVIEW_DIR", "ClipJob", "perceive_clip",
           "tree_jobs", "run_jobs", "preview_frame"]

PREVIEW_DIR = "preview"


def camera_frames(index: int, frames: int) -> Iterator[np.ndarray]:
    """Up to `frames` BGR frames from OpenCV camera `index`; a clear error when there is no such camera."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise ValueError(f"camera {index}: cannot be opened (no such device, no permission, or in use; "
                         "on Linux the cameras are /dev/video*)")
    try:
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


@dataclass(frozen=True)
class ClipJob:
    video: Path | int  # a video file, or an OpenCV camera index
    wav: Path | None
    out_root: Path  # outputs go to out_root/<kind>/<relative>.npy (.mp4 for the preview)
    relative: Path  # e.g. Path("speaker/session1/clip") or Path("clip")
    preview: bool = False
    full_range: bool = False  # the full-range face detector (small faces far from the camera)
    camera_frames: int = 300  # how many frames to take when `video` is a camera index

    def output(self, kind: str, suffix: str = ".npy") -> Path:
        return self.out_root / kind / self.relative.with_suffix(suffix)


def _save(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npy")
    np.save(partial, array)
    os.replace(partial, path)


def preview_frame(frame: np.ndarray, visual, panel_width: int = 260) -> np.ndarray:
    """The camera frame with every face box (gray), the speaker (green) and its landmarks, plus bars of the 25
    values on the right (gray bars: not measured; 'absent' when there is no speaker)."""
    image = frame.copy()
    for x, y, w, h in visual.faces:
        cv2.rectangle(image, (x, y), (x + w, y + h), (128, 128, 128), 1)
    if visual.box is not None:
        x, y, w, h = visual.box
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 200, 0) if visual.present else (0, 0, 200), 2)
    if visual.landmarks is not None:
        for px, py in visual.landmarks[:, :2].astype(int):
            cv2.circle(image, (int(px), int(py)), 1, (0, 255, 255), -1)
    height = image.shape[0]
    panel = np.full((height, panel_width, 3), 32, np.uint8)
    row = max(8, min(18, height // (schema.REACTION_DIM + 2)))
    for index, name in enumerate(schema.ATTRIBUTE_NAMES):
        top = 4 + index * row
        value = float(visual.attributes[index])
        fraction = (value + 1) / 2 if schema.LOWER[index] < 0 else value
        measured = bool(visual.present and visual.measured[index])
        colour = (80, 200, 80) if measured else (90, 90, 90)
        cv2.putText(panel, name[:8], (4, top + row - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (220, 220, 220), 1)
        cv2.rectangle(panel, (70, top + 2), (70 + int(fraction * (panel_width - 80)), top + row - 3), colour, -1)
    status = "speaker" if visual.present else f"absent ({visual.reason})"
    cv2.putText(panel, status, (4, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    return np.concatenate([image, panel], axis=1)


def perceive_clip(job: ClipJob, front_end=None) -> str:
    """One clip -> its output files; returns "done" or "skipped" (outputs already there)."""
    from react_ros.data.audio_io import read_wav  # noqa: PLC0415
    from react_ros.face.video import iter_video, video_info, write_video  # noqa: PLC0415
    from react_ros.perception.audio_features import samples_needed  # noqa: PLC0415
    from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd  # noqa: PLC0415

    if not isinstance(job.video, int) and job.output(ATTRIBUTES_DIR).exists():  # a camera is always recorded
        return "skipped"
    front = front_end if front_end is not None else MeshSpeakerFrontEnd(full_range=job.full_range)
    front.reset()
    samples, rate = read_wav(job.wav) if job.wav is not None else (None, None)
    attributes, masks, voice = [], [], []
    position = 0

    def previews():  # frame by frame, so a long clip's preview is streamed to disk, never held in memory
        nonlocal position
        source = (camera_frames(job.video, job.camera_frames) if isinstance(job.video, int)
                  else iter_video(job.video))
        for index, frame in enumerate(source):
            visual = front.process_image(frame)
            attributes.append(visual.attributes)
            masks.append(visual.measured if visual.present else np.zeros(schema.REACTION_DIM, bool))
            if samples is not None:
                stop = min(samples_needed(index + 1, front.audio.config, rate), samples.shape[0])
                if stop > position:
                    voice.append(front.process_voice(samples[position:stop], rate))
                    position = stop
            yield preview_frame(frame, visual) if job.preview else frame

    if job.preview:
        path = job.output(PREVIEW_DIR, ".mp4")
        partial = path.with_name(path.stem + ".partial.mp4")
        fps = 30.0 if isinstance(job.video, int) else video_info(job.video)[1]
        made = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
        try:
            write_video(partial, previews(), fps=fps if fps > 0 else 30.0)
        except BaseException:  # a camera that cannot be opened: leave no partial file, no empty preview folder
            partial.unlink(missing_ok=True)
            for folder in made:  # innermost first
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise
        os.replace(partial, path)
    else:
        for _ in previews():
            pass
    if not attributes:
        raise ValueError(f"{job.video}: no readable video frames")
    frames = len(attributes)
    if samples is not None:
        from react_ros.perception.voice import N_VOICE_FEATURES  # noqa: PLC0415

        rows = np.concatenate(voice) if voice else np.zeros((0, N_VOICE_FEATURES), np.float32)
        if rows.shape[0] < frames:  # audio shorter than the video: silence rows (speech_prob 0, floor level)
            pad = np.zeros((frames - rows.shape[0], N_VOICE_FEATURES), np.float32)
            pad[:, 1], pad[:, 2] = -100.0, -5.0
            rows = np.concatenate([rows, pad])
        _save(job.output(VOICE_DIR), rows[:frames].astype(np.float32))
    _save(job.output(MASK_DIR), np.stack(masks))
    _save(job.output(ATTRIBUTES_DIR), np.stack(attributes).astype(np.float32))  # last: marks the clip done
    return "done"


def tree_jobs(root: Path, out_root: Path, preview: bool = False, full_range: bool = False) -> Iterator[ClipJob]:
    """Every recording of a MARS-layout tree (all splits, both roles)."""
    from react_ros.data import layout  # noqa: PLC0415

    root, out_root = Path(root), Path(out_root)
    if root.resolve() == out_root.resolve():
        raise ValueError("perceive: --out must differ from the data root (its facial-attributes are the labels)")
    for split in layout.SPLITS:
        for role in layout.ROLES:
            seen: set[Path] = set()
            for modality in (layout.RAW_VIDEO, layout.VIDEO):
                base = root / split / modality / role
                for video in sorted(base.glob("*/*.mp4")):
                    relative = video.relative_to(base).with_suffix("")
                    if relative in seen:
                        continue
                    seen.add(relative)
                    wav = root / split / layout.AUDIO / role / relative.with_suffix(".wav")
                    yield ClipJob(video=video, wav=wav if wav.is_file() else None, out_root=out_root / split,
                                  relative=Path(role) / relative, preview=preview, full_range=full_range)


_WORKER_FRONT = None


def _work(job: ClipJob) -> tuple[str, str]:
    global _WORKER_FRONT  # noqa: PLW0603 (one front end per worker process, built once)
    if _WORKER_FRONT is None:
        from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd  # noqa: PLC0415

        _WORKER_FRONT = MeshSpeakerFrontEnd(full_range=job.full_range)
    try:
        return str(job.video), perceive_clip(job, _WORKER_FRONT)
    except (ValueError, OSError) as error:  # one bad clip is reported, the others go on
        return str(job.video), f"failed: {error}"


def run_jobs(jobs: list[ClipJob], workers: int = 1) -> dict[str, str]:
    if workers <= 1 or len(jobs) <= 1:
        return dict(_work(job) for job in jobs)
    import multiprocessing  # noqa: PLC0415

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return dict(pool.imap_unordered(_work, jobs))
