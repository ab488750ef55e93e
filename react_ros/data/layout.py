"""The MARS (REACT 2025) directory layout, in one place for the writer (synthetic data) and the reader.

    <root>/<split>/<modality>/<role>/session<N>/<clip>.<ext>

split    train | val | test
modality video-face-crop (.mp4), facial-attributes (.npy), audio (.wav), coefficients (.npy, optional),
         video-raw (.mp4, optional), audio-features (.npy, optional, e.g. wav2vec 768-d)
role     speaker | listener; the same <clip> under both roles is one dyadic pair
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")
ROLES = ("speaker", "listener")

VIDEO = "video-face-crop"
RAW_VIDEO = "video-raw"
ATTRIBUTES = "facial-attributes"
COEFFICIENTS = "coefficients"
AUDIO = "audio"
AUDIO_FEATURES = "audio-features"

EXTENSIONS = {
    VIDEO: ".mp4",
    RAW_VIDEO: ".mp4",
    ATTRIBUTES: ".npy",
    COEFFICIENTS: ".npy",
    AUDIO: ".wav",
    AUDIO_FEATURES: ".npy",
}


@dataclass(frozen=True)
class ClipId:
    """One recording of one person: split, role, session and clip name."""

    split: str
    role: str
    session: str  # directory name, e.g. "session3"
    clip: str  # e.g. "Camera-2024-05-01-101500-102000"

    def path(self, root: Path | str, modality: str) -> Path:
        return Path(root) / self.split / modality / self.role / self.session / (self.clip + EXTENSIONS[modality])

    def partner(self) -> ClipId:
        """The other person of the same dyadic recording."""
        other = "listener" if self.role == "speaker" else "speaker"
        return ClipId(self.split, other, self.session, self.clip)

    def __str__(self) -> str:
        return f"{self.split}/{self.role}/{self.session}/{self.clip}"
