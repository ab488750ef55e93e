"""A MARS-layout split as model features: per input clip, the input person's attributes (visual stream),
their audio features (the same causal log-mel the robot computes) and the partner's reaction (target).

Offline the visual stream is the data set's facial attributes; on the robot it is the attribute
estimator's output from the camera. `online_features` runs a clip's video and wav through the robot's
speaker front end instead, for the online-vs-offline comparison.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from react_ros.data.mars import MarsDataset
from react_ros.data.pairs import Direction, scan
from react_ros.perception.audio_features import audio_features


@dataclass
class ClipFeatures:
    """One input clip and its target: the input person's attributes and audio, the partner's reaction."""

    id: str
    session: str
    visual: np.ndarray  # (T, 25)
    audio: np.ndarray  # (T, A)
    target: np.ndarray  # (T, 25)
    # (T, 25) bool, True = measured; None = every value measured (the data set's labels). With perceived
    # attributes (data/perceived.py) unmeasured values are neutral and all-False rows are frames without a face.
    visual_mask: np.ndarray | None = None
    # which role the target answers in: 0 a listener's reaction to the speaker (the robot's), 1 the speaker's to the
    # listener (the REACT protocol's other direction); a role-conditioned model is told it (model.config.roles)
    role: int = 0


def answer_role(direction: Direction | str) -> int:
    """The role a target answers in, as a role-conditioned model is told it (ClipFeatures.role): 0 in the
    speaker->listener direction (a listener's reaction, the robot's), 1 in listener->speaker."""
    return int(Direction(direction) is Direction.LISTENER_TO_SPEAKER)


def load_features(root: str | Path, split: str, directions: str | Sequence[str] = "both",
                  progress: bool = False, perceived: str | Path | None = None) -> list[ClipFeatures]:
    """perceived: a `react-ros perceive` tree of `root`: the input person's attributes (and mask) come from it
    instead of the data set's facial-attributes (what the robot's mesh front end sees); targets stay the labels."""
    from react_ros.data.perceived import perceived_speaker

    dataset = MarsDataset(root, split, window=1, modalities=("attributes", "audio"), directions=directions)
    out = []
    for clip in tqdm(dataset.clips(), total=len(dataset.entries), desc=f"features {split}", disable=not progress):
        audio = audio_features(clip.speaker_audio)[: len(clip)]
        if len(audio) < len(clip):  # a wav a hair shorter than the video: repeat its last feature
            audio = np.concatenate([audio, np.repeat(audio[-1:], len(clip) - len(audio), axis=0)])
        visual, mask = clip.speaker_attributes, None
        if perceived is not None:
            visual, mask = perceived_speaker(perceived, clip.input, len(clip))
        out.append(ClipFeatures(id=clip.id, session=clip.input.session, visual=visual,
                                audio=audio.astype(np.float32), target=clip.listener_attributes, visual_mask=mask,
                                role=answer_role(clip.direction)))
    return out


def data_hash(root: str | Path, splits: Sequence[str] = ("train", "val")) -> str:
    """A fingerprint of the attribute and audio files a model was trained on (names, sizes, npy contents),
    stored in checkpoints so a model says which data made it."""
    digest = hashlib.sha256()
    root = Path(root)
    for split in splits:
        for pair in scan(root, split, strict=False):
            for clip in (pair.speaker, pair.listener):
                for modality in ("facial-attributes", "audio"):
                    path = clip.path(root, modality)
                    if not path.exists():
                        continue
                    digest.update(str(path.relative_to(root)).encode())
                    digest.update(str(path.stat().st_size).encode())
                    if path.suffix == ".npy":
                        digest.update(path.read_bytes())
    return digest.hexdigest()
