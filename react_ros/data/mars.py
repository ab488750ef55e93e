"""The MARS (REACT 2025) data set for training and evaluation (see `react_ros.data.layout` for the layout):
`MarsDataset` serves fixed-length training windows lazily (files are read in `__getitem__`, npy files
memory-mapped) and whole clips (`Clip`) for evaluation.

    <root>/<split>/{facial-attributes,audio,video-face-crop,coefficients}/{speaker,listener}/session<N>/<clip>.*

The other jobs have their own modules: pairs.py (scanning a split for dyadic pairs, inputs in both
directions, appropriate reactions), readers.py (the file readers and checks), protocol.py (the REACT test
protocol and mean reactions): import their names from there (one import path per name).
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from react_ros.data.audio_io import WavInfo
from react_ros.data.layout import ClipId
from react_ros.data.pairs import (
    LAYOUT_HINT,
    MODALITIES,
    DatasetError,
    Direction,
    Sample,
    make_samples,
    modality_dir,
    scan,
)
from react_ros.data.readers import (
    AUDIO_TOLERANCE_S,
    FPS,
    LENGTH_TOLERANCE,
    SAMPLE_RATE,
    attribute_frames,
    audio_samples,
    coefficient_frames,
    crop_warning,
    pad_frames,
    read_attributes,
    read_audio,
    read_coefficients,
    read_video,
    reconcile_lengths,
    sample_index,
    wav_header,
)

try:
    from torch.utils.data import Dataset as _DatasetBase
except ImportError:  # the reader itself needs no torch (e.g. evaluation on a robot with onnxruntime only)
    _DatasetBase = object  # type: ignore[assignment,misc]


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
        directory = modality_dir(name)
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
            length = reconcile_lengths(paths, (frames[sample.input], frames[sample.target]), self.length_tolerance)
            if frames[sample.input] != frames[sample.target] and sample.direction is Direction.SPEAKER_TO_LISTENER:
                cropped.append(str(sample.pair))
            if "coefficients" in self.modalities:
                for clip in (sample.input, sample.target):
                    path = self._path(clip, "coefficients")
                    reconcile_lengths((path, self._path(clip, "attributes")), (coefficient_frames(path), frames[clip]),
                               self.length_tolerance)
            info = None
            if "audio" in self.modalities:
                info = self._check_audio(sample.input, frames[sample.input])
                if info.sample_rate != SAMPLE_RATE or info.channels != 1:
                    converted.append(f"{self._path(sample.input, 'audio')} ({info.sample_rate} Hz, "
                                     f"{info.channels} channels)")
            entries.append(_Entry(sample, length, frames[sample.input], info))
        crop_warning(cropped, self.length_tolerance)
        if converted:
            warnings.warn(f"{len(converted)} audio files are not {SAMPLE_RATE} Hz mono and are mixed down / resampled "
                          f"with scipy.signal.resample_poly when read, e.g. {converted[0]}", stacklevel=3)
        return entries

    def _check_audio(self, clip: ClipId, frames: int) -> WavInfo:
        path = self._path(clip, "audio")
        info = wav_header(path)
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
            item["speaker_attributes"] = pad_frames(
                read_attributes(self._path(sample.input, "attributes"), start, stop, self.range_tolerance), window)
        item["listener_attributes"] = pad_frames(
            read_attributes(self._path(sample.target, "attributes"), start, stop, self.range_tolerance), window)
        if "audio" in self.modalities:
            first, last = sample_index(start), sample_index(stop)
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
                item[key] = pad_frames(read_coefficients(self._path(clip, "coefficients"), start, stop), window)
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
            out.speaker_audio = read_audio(self._path(clip, "audio"), 0, sample_index(length), entry.audio,
                                           warn=False)
        if video and "video" in self.modalities:
            out.speaker_video = read_video(self._path(clip, "video"), 0, length, self.video_size,
                                           expected_frames=entry.own_frames, tolerance=self.length_tolerance)
        if "coefficients" in self.modalities:
            out.speaker_coefficients = read_coefficients(self._path(clip, "coefficients"), 0, length)
            out.listener_coefficients = read_coefficients(self._path(target, "coefficients"), 0, length)
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
