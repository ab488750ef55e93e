"""Face crops and their attributes from a split's videos, for training the speaker-attribute estimator.

Both roles' videos are used (every recorded face is a face the robot may see). Crops go through the same
FaceCropper the robot runs, from BGR frames as a camera gives them, so training and runtime agree.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from react_ros.data import layout
from react_ros.data.pairs import scan
from react_ros.data.readers import read_attributes, read_video
from react_ros.perception.face_crop import FaceCropper


def estimator_frames(root: str | Path, split: str = "train", frame_stride: int = 4, max_frames: int = 40000,
                     seed: int = 0, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(N, 64, 64) uint8 crops, (N, 25) float32 attributes."""
    root = Path(root)
    pairs = scan(root, split, require=("attributes", "video"))
    cropper = FaceCropper("full_frame")
    crops, targets = [], []
    clips = [clip for pair in pairs for clip in (pair.speaker, pair.listener)]
    for clip in tqdm(clips, desc=f"estimator frames {split}", disable=not progress):
        attributes = read_attributes(clip.path(root, layout.ATTRIBUTES))
        video = read_video(clip.path(root, layout.VIDEO), 0, len(attributes))
        for i in range(0, len(attributes), frame_stride):
            crop = cropper.crop(cv2.cvtColor(video[i], cv2.COLOR_RGB2BGR))
            if crop.present and crop.image is not None:
                crops.append(crop.image)
                targets.append(attributes[i])
    if not crops:
        raise ValueError(f"{root / split}: no video frames to train the attribute estimator on")
    crops_array, targets_array = np.stack(crops), np.stack(targets).astype(np.float32)
    if len(crops_array) > max_frames:
        keep = np.sort(np.random.default_rng(seed).choice(len(crops_array), max_frames, replace=False))
        crops_array, targets_array = crops_array[keep], targets_array[keep]
    return crops_array, targets_array
