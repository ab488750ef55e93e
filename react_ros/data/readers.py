"""Reading the files of a MARS-layout data set: attributes and coefficients (.npy, memory-mapped), audio (.wav,
resampled to 16 kHz mono), face-crop video (.mp4), each checked, with errors (`DatasetError`) that name the
file and what is wrong with it; and the rules for lengths that differ by a few frames."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.data.audio_io import WavError, WavInfo, read_wav, resample, wav_info
from react_ros.data.pairs import DatasetError

FPS = schema.FPS
SAMPLE_RATE = schema.AUDIO_SAMPLE_RATE
LENGTH_TOLERANCE = 5  # frames: speaker/listener/video lengths may differ by a few frames (cropped to the shorter)
AUDIO_TOLERANCE_S = 0.5


def _load_npy(path: Path) -> np.ndarray:
    """Memory-map an npy file (nothing is read but the header); clear errors for missing/corrupt files."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(f"{path}: truncated or corrupt .npy file ({_npy_problem(path, error)})") from error


def _npy_problem(path: Path, error: Exception) -> str:
    """Say how much of an npy file is missing when its header can be read."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(handle)
            data_start = handle.tell()
        expected = data_start + int(np.prod(shape)) * dtype.itemsize
        size = path.stat().st_size
        if size < expected:
            return f"the header announces {dtype} data of shape {shape} ({expected} bytes) but the file has {size}"
    except Exception:  # noqa: BLE001 (the header itself is broken: report the original error)
        pass
    return str(error) or type(error).__name__


def _wrap(error: ValueError) -> DatasetError:
    return error if isinstance(error, DatasetError) else DatasetError(str(error))


def _check_attribute_shape(array: np.ndarray, path: Path) -> None:
    if array.ndim != 2 or array.shape[1] != schema.REACTION_DIM or array.shape[0] == 0:
        try:
            schema.check_reactions(array, str(path))  # raises on the shape before reading any value
        except ValueError as error:
            raise _wrap(error) from None
    if not np.issubdtype(array.dtype, np.number):
        raise DatasetError(f"{path}: attributes must be numeric, got dtype {array.dtype}")


def attribute_frames(path: Path) -> int:
    """The number of frames of an attribute file, from its header; checks it is (frames, 25)."""
    array = _load_npy(path)
    _check_attribute_shape(array, path)
    return int(array.shape[0])


def read_attributes(path: Path, start: int = 0, stop: int | None = None, tolerance: float = 1e-3) -> np.ndarray:
    """Frames [start, stop) of an attribute file as validated float32 (NaN and out-of-range values raise)."""
    array = _load_npy(path)
    _check_attribute_shape(array, path)
    segment = np.array(array[start:stop], dtype=np.float32)
    whole = start == 0 and (stop is None or stop >= array.shape[0])
    source = str(path) if whole else f"{path} (frames {start}..{start + len(segment)})"
    try:
        return schema.check_reactions(segment, source, tolerance=tolerance)
    except ValueError as error:
        raise _wrap(error) from None


def coefficient_frames(path: Path) -> int:
    array = _load_npy(path)
    if array.ndim != 2 or array.shape[1] != schema.COEFFS_3DMM_DIM or array.shape[0] == 0:
        raise DatasetError(f"{path}: expected 3DMM coefficients of shape (frames, {schema.COEFFS_3DMM_DIM}), "
                           f"got {array.shape}")
    return int(array.shape[0])


def read_coefficients(path: Path, start: int, stop: int) -> np.ndarray:
    segment = np.array(_load_npy(path)[start:stop], dtype=np.float32)
    if not np.isfinite(segment).all():
        raise DatasetError(f"{path}: non-finite 3DMM coefficients in frames {start}..{stop}")
    return segment


def wav_header(path: Path) -> WavInfo:
    try:
        return wav_info(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing file") from None
    except WavError as error:
        raise DatasetError(str(error)) from None


def sample_index(frame: int, sample_rate: int = SAMPLE_RATE) -> int:
    # floor(x + 0.5) rather than round(): no banker's rounding, so sample ranges of adjacent windows tile
    return int(math.floor(frame * sample_rate / FPS + 0.5))


def audio_samples(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples of a window of `frames` frames (533.33 per frame at 16 kHz, rounded up)."""
    return int(math.ceil(frames * sample_rate / FPS - 1e-9))


def read_audio(path: Path, first: int, stop: int, info: WavInfo | None = None, warn: bool = True) -> np.ndarray:
    """Samples [first, stop) at 16 kHz mono (beyond the file's end: zeros). Other rates are resampled with
    scipy.signal.resample_poly and multi-channel audio is mixed down, with a warning when `warn`."""
    info = info or wav_header(path)
    count = stop - first
    rate = info.sample_rate
    if warn and (rate != SAMPLE_RATE or info.channels != 1):
        warnings.warn(f"{path}: {rate} Hz, {info.channels} channels: resampled to {SAMPLE_RATE} Hz mono "
                      f"with scipy.signal.resample_poly", stacklevel=2)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*mixed down to mono")  # reported above
            if rate == SAMPLE_RATE:
                samples, _ = read_wav(path, start=first, count=count)
            else:
                # A margin of native samples keeps the filter's edge effects out of the window
                margin = 64
                native_first = max(0, math.floor(first * rate / SAMPLE_RATE) - margin)
                native_stop = math.ceil(stop * rate / SAMPLE_RATE) + margin
                native, _ = read_wav(path, start=native_first, count=native_stop - native_first)
                converted = resample(native, rate, SAMPLE_RATE)
                offset = first - int(round(native_first * SAMPLE_RATE / rate))
                samples = converted[max(offset, 0):max(offset, 0) + count]
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing file") from None
    except WavError as error:
        raise DatasetError(str(error)) from None
    out = np.zeros(count, dtype=np.float32)
    out[:len(samples)] = samples[:count]
    return out


def read_video(path: Path, start: int, count: int, size: int | None = None, expected_frames: int | None = None,
               tolerance: int = LENGTH_TOLERANCE) -> np.ndarray:
    """Frames [start, start + count) of a video as (count, H, W, 3) uint8 RGB, resized to size x size.

    Seeks to `start` (no decoding of the frames before it in the caller); frames past the video's end repeat
    its last frame. `expected_frames` (the attributes' length) is checked against the container's count.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: missing file")
    try:
        capture = cv2.VideoCapture(str(path))
    except cv2.error as error:
        raise DatasetError(f"{path}: cannot open the video ({error})") from None
    try:
        if not capture.isOpened():
            raise DatasetError(f"{path}: cannot open the video (not a video, truncated, or an unsupported codec)")
        total = int(round(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        if expected_frames is not None and total > 0 and abs(total - expected_frames) > tolerance:
            raise DatasetError(f"{path}: the video has {total} frames but the facial attributes have "
                               f"{expected_frames} (more than {tolerance} frames apart)")
        if total > 0 and start >= total:
            start = total - 1  # within the tolerance past the video's end: hold its last frame
        if start > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        frames = []
        for _ in range(count):
            ok, frame = capture.read()
            if not ok:
                break
            if size is not None and frame.shape[:2] != (size, size):
                frame = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    except cv2.error as error:
        raise DatasetError(f"{path}: cannot decode the video ({error})") from None
    finally:
        capture.release()
    if not frames:
        raise DatasetError(f"{path}: no frame could be decoded at frame {start} (the container says {total} frames)")
    video = np.stack(frames)
    if len(video) < count:
        video = np.concatenate([video, np.repeat(video[-1:], count - len(video), axis=0)])
    return video


def reconcile_lengths(paths: tuple[Path, Path], lengths: tuple[int, int], tolerance: int) -> int:
    """The common length of a dyadic pair: lengths may differ by `tolerance` frames (cropped to the shorter)."""
    if abs(lengths[0] - lengths[1]) > tolerance:
        raise DatasetError(f"{paths[0]} has {lengths[0]} frames but its partner {paths[1]} has {lengths[1]}: "
                           f"more than {tolerance} frames apart")
    return min(lengths)


def crop_warning(cropped: list[str], tolerance: int) -> None:
    if cropped:
        warnings.warn(f"{len(cropped)} dyadic pairs differ in length by at most {tolerance} frames; both sides "
                      f"are cropped to the shorter (e.g. {cropped[0]})", stacklevel=3)


def pad_frames(array: np.ndarray, length: int) -> np.ndarray:
    """Pad along time by repeating the last frame."""
    if len(array) >= length:
        return array[:length]
    return np.concatenate([array, np.repeat(array[-1:], length - len(array), axis=0)])
