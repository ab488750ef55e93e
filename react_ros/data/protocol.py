"""The REACT test protocol on a MARS-layout split: every input with its fixed set of appropriate reactions
(`test_ground_truths`), and the mean reaction of a split for the MeanFr / MeanSeq references."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.data import layout
from react_ros.data.layout import ClipId
from react_ros.data.pairs import DatasetError, Direction, ground_truth_ids, make_samples, scan
from react_ros.data.readers import LENGTH_TOLERANCE, attribute_frames, crop_warning, read_attributes, reconcile_lengths
from react_ros.metrics.resample import resample_to_length


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
        length = reconcile_lengths((sample.input.path(root, layout.ATTRIBUTES), sample.target.path(root, layout.ATTRIBUTES)),
                            (len(x), len(y)), length_tolerance)
        if len(x) != len(y) and sample.direction is Direction.SPEAKER_TO_LISTENER:
            cropped.append(str(sample.pair))
        x, y = x[:length], y[:length]
        ids = ground_truth_ids(sample, pairs, count=count, seed=seed)
        gts = np.stack([y if gt == sample.target else resample_to_length(attributes(gt), length).astype(np.float32)
                        for gt in ids])
        inputs.append(TestInput(sample.input, x, gts, y, tuple(ids)))
    crop_warning(cropped, length_tolerance)
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
        length = reconcile_lengths(paths, (attribute_frames(paths[0]), attribute_frames(paths[1])), length_tolerance)
        for path in paths:
            for start in range(0, length, window):
                segment = read_attributes(path, start, min(start + window, length))
                sums[:len(segment)] += segment
                counts[:len(segment)] += 1
    mean_frame = sums.sum(axis=0) / counts.sum()
    mean_sequence = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], mean_frame)
    return mean_frame.astype(np.float32), mean_sequence.astype(np.float32)
