"""Reader for data sets in the MARS (REACT 2025) layout (see `react_ros.data.layout`).

    <root>/<split>/{facial-attributes,audio,video-face-crop,coefficients}/{speaker,listener}/session<N>/<clip>.*

- `scan` finds the dyadic pairs of a split (the same clip name under speaker/ and listener/ of a session).
- Every recording is an input in both directions (speaker->listener and listener->speaker): a `Sample` is
  the input person's `ClipId`; its target is the partner's reaction.
- The appropriate reactions of an input are its partner's reaction plus the target-role reactions of the
  other pairs of the same session; `test_ground_truths` builds the REACT test protocol's fixed set of
  ground truths per input from them.
- `MarsDataset` serves fixed-length training windows lazily (files are read in `__getitem__`, npy files
  memory-mapped) and whole clips for evaluation.

Every problem with the files raises `DatasetError` naming the file and what is wrong with it.
"""
from __future__ import annotations

import math
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from react_ros import schema
from react_ros.data import layout
from react_ros.data.audio_io import WavError, WavInfo, read_wav, resample, wav_info
from react_ros.data.layout import ClipId
from react_ros.metrics.resample import resample_to_length

try:
    from torch.utils.data import Dataset as _DatasetBase
except ImportError:  # the reader itself needs no torch (e.g. evaluation on a robot with onnxruntime only)
    _DatasetBase = object  # type: ignore[assignment,misc]

FPS = schema.FPS
SAMPLE_RATE = schema.AUDIO_SAMPLE_RATE
LENGTH_TOLERANCE = 5  # frames: speaker/listener/video lengths may differ by a few frames (cropped to the shorter)
AUDIO_TOLERANCE_S = 0.5

# User-facing modality names -> layout directories (the directory names are accepted too)
MODALITIES = {
    "attributes": layout.ATTRIBUTES,
    "audio": layout.AUDIO,
    "video": layout.VIDEO,
    "coefficients": layout.COEFFICIENTS,
}

LAYOUT_HINT = (
    "<root>/<split>/{facial-attributes,audio,video-face-crop[,coefficients]}/{speaker,listener}/session<N>/"
    "<clip>.{npy,wav,mp4}; the same <clip> name under speaker/ and listener/ of a session is one dyadic pair"
)


class DatasetError(ValueError):
    """A data set file that is missing, unreadable or inconsistent; the message names the file."""


# ----------------------------------------------------------------------------- pairs, directions, samples

def _natural_key(text: str) -> tuple:
    """session2 before session10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


@dataclass(frozen=True)
class Pair:
    """One dyadic recording: the same clip name under speaker/ and listener/ of a session."""

    split: str
    session: str
    clip: str

    def clip_id(self, role: str) -> ClipId:
        return ClipId(self.split, role, self.session, self.clip)

    @property
    def speaker(self) -> ClipId:
        return self.clip_id("speaker")

    @property
    def listener(self) -> ClipId:
        return self.clip_id("listener")

    def __str__(self) -> str:
        return f"{self.split}/{self.session}/{self.clip}"


class PairList(list[Pair]):
    """`scan`'s result: the pairs, plus the problems of the clips skipped with strict=False."""

    def __init__(self, pairs: Iterable[Pair] = (), problems: Iterable[str] = ()):
        super().__init__(pairs)
        self.problems: list[str] = list(problems)


class Direction(str, Enum):
    SPEAKER_TO_LISTENER = "speaker->listener"
    LISTENER_TO_SPEAKER = "listener->speaker"

    @property
    def input_role(self) -> str:
        return self.value.split("->")[0]

    @property
    def target_role(self) -> str:
        return self.value.split("->")[1]

    @classmethod
    def of_input(cls, role: str) -> Direction:
        return cls.SPEAKER_TO_LISTENER if role == "speaker" else cls.LISTENER_TO_SPEAKER


def parse_directions(directions: str | Direction | Sequence[str | Direction]) -> tuple[Direction, ...]:
    """"both", one direction ("speaker->listener" / "listener->speaker") or a sequence of them."""
    if isinstance(directions, str) and not isinstance(directions, Direction):
        if directions == "both":
            return (Direction.SPEAKER_TO_LISTENER, Direction.LISTENER_TO_SPEAKER)
        directions = [directions]
    elif isinstance(directions, Direction):
        directions = [directions]
    out = []
    for d in directions:
        try:
            out.append(Direction(d))
        except ValueError:
            raise ValueError(f"unknown direction {d!r}: use 'both', 'speaker->listener' or 'listener->speaker'") \
                from None
    if not out:
        raise ValueError("no direction given")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Sample:
    """An input recording (the person whose behaviour is the input); the target is the partner's reaction."""

    input: ClipId

    @property
    def target(self) -> ClipId:
        return self.input.partner()

    @property
    def direction(self) -> Direction:
        return Direction.of_input(self.input.role)

    @property
    def pair(self) -> Pair:
        return Pair(self.input.split, self.input.session, self.input.clip)

    def __str__(self) -> str:
        return str(self.input)


def make_samples(pairs: Iterable[Pair], directions: str | Sequence[str] = "both") -> list[Sample]:
    """Every pair as an input in each requested direction (pair by pair, speaker->listener first)."""
    chosen = parse_directions(directions)
    return [Sample(pair.clip_id(d.input_role)) for pair in pairs for d in chosen]


def _modality_dir(name: str) -> str:
    if name in MODALITIES:
        return MODALITIES[name]
    if name in MODALITIES.values():
        return name
    raise ValueError(f"unknown modality {name!r}; known: {', '.join(MODALITIES)}")


def scan(root: str | Path, split: str, strict: bool = True,
         require: Sequence[str] = ("attributes",)) -> PairList:
    """All dyadic pairs of a split, sorted by session and clip.

    A clip counts when any file of a required modality exists for it (under either role); every required
    modality must then exist for both roles. A missing one raises `DatasetError` naming the missing file
    (strict) or skips the clip with a warning, its problem listed in the result's `.problems`.
    """
    root = Path(root)
    split_dir = root / split
    if not split_dir.is_dir():
        raise DatasetError(f"no {split!r} split: {split_dir} is not a directory; expected the MARS layout "
                           f"{LAYOUT_HINT}")
    dirs = list(dict.fromkeys([layout.ATTRIBUTES] + [_modality_dir(m) for m in require]))
    for modality in dirs:
        if not (split_dir / modality).is_dir():
            raise DatasetError(f"{split_dir / modality} is missing (modality {modality!r}); expected the MARS "
                               f"layout {LAYOUT_HINT}")
    present: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for modality in dirs:
        ext = layout.EXTENSIONS[modality]
        for role in layout.ROLES:
            role_dir = split_dir / modality / role
            if not role_dir.is_dir():
                continue  # every clip then reports its missing file below
            for session_dir in role_dir.iterdir():
                if not session_dir.is_dir() or session_dir.name.startswith("."):
                    continue
                for file in session_dir.iterdir():
                    if file.suffix == ext and not file.name.startswith(".") and file.is_file():
                        present.setdefault((session_dir.name, file.stem), set()).add((role, modality))
    pairs, problems = [], []
    for session, clip in sorted(present, key=lambda key: (_natural_key(key[0]), _natural_key(key[1]))):
        have = present[(session, clip)]
        pair = Pair(split, session, clip)
        missing = [pair.clip_id(role).path(root, m) for m in dirs for role in layout.ROLES if (role, m) not in have]
        if not missing:
            pairs.append(pair)
            continue
        found = ", ".join(f"{m}/{role}" for role, m in sorted(have))
        problem = (f"missing file {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                   + f": clip {clip} of {session} has {found} but a dyadic pair needs "
                   + ", ".join(dirs) + " for both speaker and listener")
        if strict:
            raise DatasetError(problem)
        problems.append(problem)
    if problems:
        warnings.warn(f"{split_dir}: skipped {len(problems)} incomplete clips, e.g. {problems[0]}", stacklevel=2)
    return PairList(pairs, problems)


def appropriate_reactions(sample: Sample, pairs: Iterable[Pair]) -> list[ClipId]:
    """The appropriate reactions of an input: its partner's reaction first, then the target-role reactions of
    the other pairs of the same session (same direction), in clip order."""
    role = sample.direction.target_role
    others = [p.clip_id(role) for p in pairs
              if p.split == sample.input.split and p.session == sample.input.session and p.clip != sample.input.clip]
    return [sample.target] + sorted(set(others), key=lambda c: _natural_key(c.clip))


def _rng_for(sample: Sample, seed: int) -> np.random.Generator:
    # Keyed by the input's name (stable across runs and processes), so an input's draws do not depend on
    # which other inputs are in the list
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(str(sample.input).encode())])


def ground_truth_ids(sample: Sample, pairs: Iterable[Pair], count: int = 10, seed: int = 0) -> list[ClipId]:
    """The REACT test protocol's ground truths of an input: the paired reaction, then count - 1 drawn from
    the other appropriate reactions of the session. With enough of them they are drawn without repetition;
    with fewer, each is used once and the rest drawn with repetition; with none, the paired one repeats."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    appropriate = appropriate_reactions(sample, pairs)
    others = appropriate[1:] or appropriate[:1]
    need = count - 1
    rng = _rng_for(sample, seed)
    if len(others) >= need:
        drawn = [others[i] for i in rng.choice(len(others), size=need, replace=False)]
    else:
        drawn = [others[i] for i in rng.permutation(len(others))]
        drawn += [others[i] for i in rng.integers(0, len(others), size=need - len(others))]
    return [appropriate[0]] + drawn


# ----------------------------------------------------------------------------- file checks and readers

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


def _coefficient_frames(path: Path) -> int:
    array = _load_npy(path)
    if array.ndim != 2 or array.shape[1] != schema.COEFFS_3DMM_DIM or array.shape[0] == 0:
        raise DatasetError(f"{path}: expected 3DMM coefficients of shape (frames, {schema.COEFFS_3DMM_DIM}), "
                           f"got {array.shape}")
    return int(array.shape[0])


def _read_coefficients(path: Path, start: int, stop: int) -> np.ndarray:
    segment = np.array(_load_npy(path)[start:stop], dtype=np.float32)
    if not np.isfinite(segment).all():
        raise DatasetError(f"{path}: non-finite 3DMM coefficients in frames {start}..{stop}")
    return segment


def _wav_info(path: Path) -> WavInfo:
    try:
        return wav_info(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing file") from None
    except WavError as error:
        raise DatasetError(str(error)) from None


def _sample_index(frame: int, sample_rate: int = SAMPLE_RATE) -> int:
    # floor(x + 0.5) rather than round(): no banker's rounding, so sample ranges of adjacent windows tile
    return int(math.floor(frame * sample_rate / FPS + 0.5))


def audio_samples(frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples of a window of `frames` frames (533.33 per frame at 16 kHz, rounded up)."""
    return int(math.ceil(frames * sample_rate / FPS - 1e-9))


def read_audio(path: Path, first: int, stop: int, info: WavInfo | None = None, warn: bool = True) -> np.ndarray:
    """Samples [first, stop) at 16 kHz mono (beyond the file's end: zeros). Other rates are resampled with
    scipy.signal.resample_poly and multi-channel audio is mixed down, with a warning when `warn`."""
    info = info or _wav_info(path)
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


def _reconcile(paths: tuple[Path, Path], lengths: tuple[int, int], tolerance: int) -> int:
    """The common length of a dyadic pair: lengths may differ by `tolerance` frames (cropped to the shorter)."""
    if abs(lengths[0] - lengths[1]) > tolerance:
        raise DatasetError(f"{paths[0]} has {lengths[0]} frames but its partner {paths[1]} has {lengths[1]}: "
                           f"more than {tolerance} frames apart")
    return min(lengths)


def _crop_warning(cropped: list[str], tolerance: int) -> None:
    if cropped:
        warnings.warn(f"{len(cropped)} dyadic pairs differ in length by at most {tolerance} frames; both sides "
                      f"are cropped to the shorter (e.g. {cropped[0]})", stacklevel=3)


def _pad_frames(array: np.ndarray, length: int) -> np.ndarray:
    """Pad along time by repeating the last frame."""
    if len(array) >= length:
        return array[:length]
    return np.concatenate([array, np.repeat(array[-1:], length - len(array), axis=0)])


# ----------------------------------------------------------------------------- whole clips, test protocol

@dataclass
class Clip:
    """A whole input clip. `speaker_*` is the input person (the listener in listener->speaker), `listener_*`
    the target partner; both cropped to the pair's common length."""

    input: ClipId
    speaker_attributes: np.ndarray  # (L, 25)
    listener_attributes: np.ndarray  # (L, 25)
    speaker_audio: np.ndarray | None = None  # (round(L * 16000 / 30),) float32 at 16 kHz
    speaker_video: np.ndarray | None = None  # (L, H, W, 3) uint8 RGB
    speaker_coefficients: np.ndarray | None = None  # (L, 58)
    listener_coefficients: np.ndarray | None = None  # (L, 58)

    @property
    def id(self) -> str:
        return str(self.input)

    @property
    def target(self) -> ClipId:
        return self.input.partner()

    @property
    def direction(self) -> Direction:
        return Direction.of_input(self.input.role)

    def __len__(self) -> int:
        return len(self.speaker_attributes)


@dataclass
class TestInput:
    """One test input with the REACT protocol's ground truths, all of the input's length L."""

    input: ClipId
    speaker: np.ndarray  # (L, 25) the input person's attributes
    gts: np.ndarray  # (count, L, 25) appropriate reactions, the paired one first
    listener: np.ndarray  # (L, 25) the paired (real) reaction; equals gts[0]
    gt_ids: tuple[ClipId, ...] = field(default_factory=tuple)

    __test__ = False  # not a pytest test class despite its name

    @property
    def id(self) -> str:
        return str(self.input)

    @property
    def direction(self) -> Direction:
        return Direction.of_input(self.input.role)


def test_ground_truths(dataset_root: str | Path, split: str = "test", count: int = 10, seed: int = 0,
                       directions: str | Sequence[str] = "both", strict: bool = True,
                       length_tolerance: int = LENGTH_TOLERANCE) -> list[TestInput]:
    """The evaluation inputs of a split with `count` ground truths each (see `ground_truth_ids`).

    The input and its paired reaction are cropped to their common length L; the other ground truths are
    resampled to L by linear interpolation in time.
    """
    root = Path(dataset_root)
    pairs = scan(root, split, strict=strict)
    cache: dict[ClipId, np.ndarray] = {}

    def attributes(clip: ClipId) -> np.ndarray:
        if clip not in cache:
            cache[clip] = read_attributes(clip.path(root, layout.ATTRIBUTES))
        return cache[clip]

    inputs, cropped = [], []
    for sample in make_samples(pairs, directions):
        x, y = attributes(sample.input), attributes(sample.target)
        length = _reconcile((sample.input.path(root, layout.ATTRIBUTES), sample.target.path(root, layout.ATTRIBUTES)),
                            (len(x), len(y)), length_tolerance)
        if len(x) != len(y) and sample.direction is Direction.SPEAKER_TO_LISTENER:
            cropped.append(str(sample.pair))
        x, y = x[:length], y[:length]
        ids = ground_truth_ids(sample, pairs, count=count, seed=seed)
        gts = np.stack([y if gt == sample.target else resample_to_length(attributes(gt), length).astype(np.float32)
                        for gt in ids])
        inputs.append(TestInput(sample.input, x, gts, y, tuple(ids)))
    _crop_warning(cropped, length_tolerance)
    return inputs


test_ground_truths.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name


def mean_reaction(root: str | Path, split: str = "train", window: int = 750, strict: bool = True,
                  length_tolerance: int = LENGTH_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """(mean frame (25,), mean sequence (window, 25)) over all targets of a split (listeners and speakers: both
    directions), for the MeanFr / MeanSeq references.

    Each clip is cut into consecutive windows from frame 0 (the last one partial), so every frame counts once,
    at its position within its window; positions no clip reaches take the mean frame. Files are streamed
    window by window through memory maps.
    """
    root = Path(root)
    pairs = scan(root, split, strict=strict)
    if not pairs:
        raise DatasetError(f"{root / split}: no dyadic pairs to average")
    sums = np.zeros((window, schema.REACTION_DIM), dtype=np.float64)
    counts = np.zeros(window, dtype=np.int64)
    for pair in pairs:
        paths = (pair.speaker.path(root, layout.ATTRIBUTES), pair.listener.path(root, layout.ATTRIBUTES))
        length = _reconcile(paths, (attribute_frames(paths[0]), attribute_frames(paths[1])), length_tolerance)
        for path in paths:
            for start in range(0, length, window):
                segment = read_attributes(path, start, min(start + window, length))
                sums[:len(segment)] += segment
                counts[:len(segment)] += 1
    mean_frame = sums.sum(axis=0) / counts.sum()
    mean_sequence = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], mean_frame)
    return mean_frame.astype(np.float32), mean_sequence.astype(np.float32)


# ----------------------------------------------------------------------------- the training data set

@dataclass(frozen=True)
class _Entry:
    """What the index knows about one sample, from file headers only."""

    sample: Sample
    length: int  # the pair's common length (frames)
    own_frames: int  # frames of the input person's own attribute file (for the video check)
    audio: WavInfo | None


class MarsDataset(_DatasetBase):
    """Fixed-length training windows of a MARS-layout split, read lazily.

    Items (numpy arrays; torch's default collate turns them into tensors), W = `window`:
        speaker_attributes   (W, 25) float32  the input person ("attributes" in modalities)
        listener_attributes  (W, 25) float32  the target reaction (always)
        speaker_audio        (ceil(W * 16000 / 30),) float32: samples [round(f0 * sr / fps), round(f1 * sr / fps))
                             of the window's frames [f0, f1), zero-padded ("audio")
        speaker_video        (W, S, S, 3) uint8 RGB face crops, resized to video_size ("video")
        speaker_coefficients, listener_coefficients  (W, 58) float32 ("coefficients")
        mask                 (W,) bool: True on real frames; clips shorter than W are padded by repeating the
                             last frame (attributes, video) or with zeros (audio)
        ids                  (input clip id string, window start frame)
    "speaker" is the input person and "listener" the target in both directions.

    With stride=None each input gives one window per epoch at a random start (seeded; `set_epoch` draws new
    starts); with a stride, every start 0, stride, 2*stride, ... plus one window ending at the clip's end.
    Construction reads only npy and wav headers; values are checked (NaN, ranges) when read.
    """

    def __init__(self, root: str | Path, split: str, window: int = 750, stride: int | None = None,
                 modalities: Sequence[str] = ("attributes", "audio", "video"),
                 directions: str | Sequence[str] = "both", video_size: int | None = None, seed: int = 0,
                 strict: bool = True, length_tolerance: int = LENGTH_TOLERANCE,
                 audio_tolerance_s: float = AUDIO_TOLERANCE_S, range_tolerance: float = 1e-3):
        if window < 1:
            raise ValueError(f"window must be >= 1 frame, got {window}")
        if stride is not None and stride < 1:
            raise ValueError(f"stride must be >= 1 frame or None, got {stride}")
        self.root, self.split = Path(root), split
        self.window, self.stride, self.seed = int(window), stride, int(seed)
        self.modalities = tuple(dict.fromkeys(self._modality_name(m) for m in modalities))
        self.video_size = video_size
        self.length_tolerance, self.audio_tolerance_s = length_tolerance, audio_tolerance_s
        self.range_tolerance = range_tolerance
        self.pairs = scan(self.root, split, strict=strict, require=("attributes",) + self.modalities)
        self.problems = self.pairs.problems
        self.samples = make_samples(self.pairs, directions)
        if not self.samples:
            raise DatasetError(f"{self.root / split}: no dyadic pairs found; expected the MARS layout {LAYOUT_HINT}")
        self.entries = self._index_entries()
        self.epoch = 0
        self.index = self._build_index()

    @staticmethod
    def _modality_name(name: str) -> str:
        directory = _modality_dir(name)
        return next(key for key, value in MODALITIES.items() if value == directory)

    def _path(self, clip: ClipId, modality: str) -> Path:
        return clip.path(self.root, MODALITIES[modality])

    def _index_entries(self) -> list[_Entry]:
        frames: dict[ClipId, int] = {}
        for pair in self.pairs:
            for clip in (pair.speaker, pair.listener):
                frames[clip] = attribute_frames(self._path(clip, "attributes"))
        entries, cropped, converted = [], [], []
        for sample in self.samples:
            paths = (self._path(sample.input, "attributes"), self._path(sample.target, "attributes"))
            length = _reconcile(paths, (frames[sample.input], frames[sample.target]), self.length_tolerance)
            if frames[sample.input] != frames[sample.target] and sample.direction is Direction.SPEAKER_TO_LISTENER:
                cropped.append(str(sample.pair))
            if "coefficients" in self.modalities:
                for clip in (sample.input, sample.target):
                    path = self._path(clip, "coefficients")
                    _reconcile((path, self._path(clip, "attributes")), (_coefficient_frames(path), frames[clip]),
                               self.length_tolerance)
            info = None
            if "audio" in self.modalities:
                info = self._check_audio(sample.input, frames[sample.input])
                if info.sample_rate != SAMPLE_RATE or info.channels != 1:
                    converted.append(f"{self._path(sample.input, 'audio')} ({info.sample_rate} Hz, "
                                     f"{info.channels} channels)")
            entries.append(_Entry(sample, length, frames[sample.input], info))
        _crop_warning(cropped, self.length_tolerance)
        if converted:
            warnings.warn(f"{len(converted)} audio files are not {SAMPLE_RATE} Hz mono and are mixed down / resampled "
                          f"with scipy.signal.resample_poly when read, e.g. {converted[0]}", stacklevel=3)
        return entries

    def _check_audio(self, clip: ClipId, frames: int) -> WavInfo:
        path = self._path(clip, "audio")
        info = _wav_info(path)
        if info.sample_rate <= 0:
            raise DatasetError(f"{path}: invalid sample rate {info.sample_rate}")
        expected = frames / FPS
        if abs(info.duration - expected) > self.audio_tolerance_s:
            raise DatasetError(f"{path}: {info.duration:.2f} s of audio but {self._path(clip, 'attributes')} has "
                               f"{frames} frames ({expected:.2f} s at {FPS:g} fps): more than "
                               f"{self.audio_tolerance_s} s apart")
        return info

    def _build_index(self) -> list[tuple[int, int]]:
        index = []
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.epoch])
        for i, entry in enumerate(self.entries):
            last = max(entry.length - self.window, 0)
            if self.stride is None:
                index.append((i, int(rng.integers(0, last + 1))))
                continue
            starts = list(range(0, last + 1, self.stride))
            if starts[-1] != last:
                starts.append(last)  # the clip's tail is covered too
            index.extend((i, start) for start in starts)
        return index

    def set_epoch(self, epoch: int) -> None:
        """Draw new random window starts (stride=None); call before each epoch, like DistributedSampler."""
        self.epoch = int(epoch)
        self.index = self._build_index()

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        if not -len(self.index) <= i < len(self.index):
            raise IndexError(f"index {i} out of range for {len(self.index)} windows")
        entry_index, start = self.index[i]
        entry = self.entries[entry_index]
        sample, window = entry.sample, self.window
        stop = min(start + window, entry.length)
        valid = stop - start
        item: dict = {}
        if "attributes" in self.modalities:
            item["speaker_attributes"] = _pad_frames(
                read_attributes(self._path(sample.input, "attributes"), start, stop, self.range_tolerance), window)
        item["listener_attributes"] = _pad_frames(
            read_attributes(self._path(sample.target, "attributes"), start, stop, self.range_tolerance), window)
        if "audio" in self.modalities:
            first, last = _sample_index(start), _sample_index(stop)
            audio = np.zeros(audio_samples(window), dtype=np.float32)
            segment = read_audio(self._path(sample.input, "audio"), first, last, entry.audio, warn=False)
            audio[:len(segment)] = segment[:len(audio)]
            item["speaker_audio"] = audio
        if "video" in self.modalities:
            item["speaker_video"] = read_video(self._path(sample.input, "video"), start, window, self.video_size,
                                               expected_frames=entry.own_frames, tolerance=self.length_tolerance)
            if valid < window:  # padded frames repeat the last real frame, like the attributes
                item["speaker_video"][valid:] = item["speaker_video"][valid - 1]
        if "coefficients" in self.modalities:
            for key, clip in (("speaker_coefficients", sample.input), ("listener_coefficients", sample.target)):
                item[key] = _pad_frames(_read_coefficients(self._path(clip, "coefficients"), start, stop), window)
        mask = np.zeros(window, dtype=bool)
        mask[:valid] = True
        item["mask"] = mask
        item["ids"] = (str(sample.input), int(start))
        return item

    # --------------------------------------------------------------- whole clips for evaluation

    def _entry_of(self, clip: ClipId) -> _Entry:
        for entry in self.entries:
            if entry.sample.input == clip:
                return entry
        raise KeyError(f"{clip} is not an input of this data set ({self.root / self.split}, directions "
                       f"{sorted({e.sample.direction.value for e in self.entries})})")

    def load_clip(self, clip: ClipId, video: bool = False) -> Clip:
        """The whole clip of an input, all modalities of the data set (video only when asked: a long clip's
        video is large), cropped to the pair's common length."""
        entry = self._entry_of(clip)
        length = entry.length
        target = clip.partner()
        out = Clip(clip, read_attributes(self._path(clip, "attributes"), 0, length, self.range_tolerance),
                   read_attributes(self._path(target, "attributes"), 0, length, self.range_tolerance))
        if "audio" in self.modalities:
            out.speaker_audio = read_audio(self._path(clip, "audio"), 0, _sample_index(length), entry.audio,
                                           warn=False)
        if video and "video" in self.modalities:
            out.speaker_video = read_video(self._path(clip, "video"), 0, length, self.video_size,
                                           expected_frames=entry.own_frames, tolerance=self.length_tolerance)
        if "coefficients" in self.modalities:
            out.speaker_coefficients = _read_coefficients(self._path(clip, "coefficients"), 0, length)
            out.listener_coefficients = _read_coefficients(self._path(target, "coefficients"), 0, length)
        return out

    def clips(self, video: bool = False) -> Iterator[Clip]:
        """Every input clip whole, one at a time (for evaluation)."""
        for entry in self.entries:
            yield self.load_clip(entry.sample.input, video=video)

    def validate(self, video: bool = True) -> list[str]:
        """Read every input clip once (attributes, audio, coefficients; for videos: open, frame count, first
        frame) and return the problems found, an empty list when all is well."""
        problems = []
        for entry in self.entries:
            try:
                self.load_clip(entry.sample.input, video=False)
                if video and "video" in self.modalities:
                    read_video(self._path(entry.sample.input, "video"), 0, 1, 8, expected_frames=entry.own_frames,
                               tolerance=self.length_tolerance)
            except DatasetError as error:
                problems.append(str(error))
        return list(dict.fromkeys(problems))
