"""The speaker condition as the robot's mesh front end sees it: attributes + mask from a `react-ros perceive` tree.

`react-ros perceive DATA --out PERCEIVED` mirrors a MARS-layout tree:
    PERCEIVED/<split>/facial-attributes/<role>/<session>/<clip>.npy       (T, 25) float32
    PERCEIVED/<split>/facial-attributes-mask/<role>/<session>/<clip>.npy  (T, 25) bool, True = measured
    PERCEIVED/<split>/voice-features/<role>/<session>/<clip>.npy          (T, 6) float32 (with audio)
Training on these instead of the data set's facial-attributes (training config `speaker_attributes: perceived`)
makes the model's speaker condition exactly what the robot computes at run time. The reaction targets stay the
data set's labels: they are what the robot's face should show.

`perceived_speaker` returns what the online pipeline hands the model (online/pipeline.py): unmeasured values
are the neutral value, and a frame with nothing measured is a frame without a face (its mask row all False).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros import schema
from react_ros.data.layout import ClipId
from react_ros.data.pairs import DatasetError

__all__ = ["ATTRIBUTES_DIR", "MASK_DIR", "VOICE_DIR", "perceived_path", "perceived_speaker"]

ATTRIBUTES_DIR = "facial-attributes"
MASK_DIR = "facial-attributes-mask"
VOICE_DIR = "voice-features"


def perceived_path(root: str | Path, clip: ClipId, kind: str = ATTRIBUTES_DIR) -> Path:
    return Path(root) / clip.split / kind / clip.role / clip.session / f"{clip.clip}.npy"


def perceived_speaker(root: str | Path, clip: ClipId, length: int) -> tuple[np.ndarray, np.ndarray]:
    """(length, 25) float32 attributes and (length, 25) bool mask of recording `clip` under a perceive tree.
    Unmeasured values are set to neutral; frames past the end of the perceived video (a video a frame or two
    shorter than the labels) are absent (mask all False). A missing file is a DatasetError saying what to run."""
    path = perceived_path(root, clip)
    mask_path = perceived_path(root, clip, MASK_DIR)
    if not path.is_file() or not mask_path.is_file():
        raise DatasetError(f"{clip}: no perceived speaker attributes under {root} ({path.name} or its mask is "
                           f"missing); make them with: react-ros perceive DATA_ROOT --out {root}")
    attributes = np.load(path).astype(np.float32)
    mask = np.load(mask_path).astype(bool)
    if attributes.ndim != 2 or attributes.shape[1] != schema.REACTION_DIM or mask.shape != attributes.shape:
        raise DatasetError(f"{path}: attributes {attributes.shape} / mask {mask.shape}, expected (T, 25) each")
    if len(attributes) < length - 15 or len(attributes) > length + 15:  # half a second: not the same video
        raise DatasetError(f"{path}: {len(attributes)} frames, the labels have {length}")
    out = np.repeat(schema.neutral_frame()[None], length, 0)
    measured = np.zeros((length, schema.REACTION_DIM), bool)
    n = min(length, len(attributes))
    measured[:n] = mask[:n] & np.isfinite(attributes[:n])
    out[:n] = np.where(measured[:n], attributes[:n], out[:n])
    return out, measured
