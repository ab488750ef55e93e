"""A model bundle: everything the online loop needs, in one directory.

    <dir>/reaction.pt    the reaction model (autoencoder + condition encoder + denoiser), see checkpoint.py
    <dir>/estimator.pt   the speaker-attribute estimator (face crop -> 25-d), see perception/estimator.py
    <dir>/card.json      how it was made: training command, data, metrics (optional, for people)

The demo bundle ships inside the package (`react_ros/assets/demo_model`) and is what the demo, the
CLI and the ROS nodes load when no other directory is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from react_ros.model.card import ModelCard
from react_ros.model.checkpoint import file_sha256, load_checkpoint, save_checkpoint
from react_ros.model.files import CARD_FILE, ESTIMATOR_FILE, MODEL_FILE, default_model_dir
from react_ros.model.reaction_model import ReactionModel

__all__ = ["CARD_FILE", "ESTIMATOR_FILE", "MODEL_FILE", "ModelBundle", "default_model_dir", "load_bundle",
           "save_bundle"]


@dataclass
class ModelBundle:
    directory: Path
    model: ReactionModel
    model_meta: dict
    estimator: object | None  # AttributeEstimator; None when the bundle has no estimator file
    estimator_meta: dict = field(default_factory=dict)
    card: ModelCard = field(default_factory=ModelCard)

    @property
    def ids(self) -> dict[str, str]:
        """Content hashes that identify this bundle in diagnostics, manifests and recordings."""
        ids = {"reaction_model_sha256": self.model_meta["sha256"]}
        if self.estimator is not None:
            ids["estimator_sha256"] = self.estimator_meta.get("sha256", "")
        return ids


def load_bundle(directory: str | Path | None = None, need_estimator: bool = False) -> ModelBundle:
    directory = Path(directory) if directory else default_model_dir()
    if not directory.is_dir():
        raise FileNotFoundError(f"model directory not found: {directory}")
    model, model_meta = load_checkpoint(directory / MODEL_FILE)
    estimator, estimator_meta = None, {}
    estimator_path = directory / ESTIMATOR_FILE
    if estimator_path.is_file():
        from react_ros.perception.estimator import load_estimator

        estimator, estimator_meta = load_estimator(estimator_path)
        estimator_meta = dict(estimator_meta, sha256=file_sha256(estimator_path))
    elif need_estimator:
        raise FileNotFoundError(f"{estimator_path}: this bundle has no speaker-attribute estimator")
    return ModelBundle(directory, model, model_meta, estimator, estimator_meta, ModelCard.read(directory))


def save_bundle(directory: str | Path, model: ReactionModel, estimator=None, card: ModelCard | dict | None = None,
                model_meta: dict | None = None, estimator_meta: dict | None = None, half: bool = True) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_checkpoint(directory / MODEL_FILE, model, meta=model_meta, half=half)
    if estimator is not None:
        from react_ros.perception.estimator import save_estimator

        save_estimator(directory / ESTIMATOR_FILE, estimator, estimator_meta)
    if card is not None:
        (card if isinstance(card, ModelCard) else ModelCard.from_dict(card, "card")).write(directory)
    return directory
