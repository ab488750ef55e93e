"""Checkpoints: weights together with the model config, the training config, the data hash and metrics,
so a file says what it is and how it was made."""
from __future__ import annotations

from pathlib import Path

import torch

from react_ros.hashing import file_sha256
from react_ros.model.config import ModelConfig
from react_ros.model.reaction_model import ReactionModel

FORMAT = "react_ros.reaction_model/1"


def save_checkpoint(path: Path | str, model: ReactionModel, meta: dict | None = None,
                    optimizer_state: dict | None = None, half: bool = False) -> Path:
    """Write atomically (temp file + rename): a crash never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    if half:  # the shipped demo model: weights in fp16 halve the file, loaded back as fp32
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {"format": FORMAT, "model_config": model.config.to_dict(), "state_dict": state,
               "meta": meta or {}}
    if optimizer_state is not None:
        payload["optimizer"] = optimizer_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: Path | str) -> tuple[ReactionModel, dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model checkpoint not found: {path}")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a react_ros reaction model checkpoint (format {FORMAT})")
    model = ReactionModel(ModelConfig.from_dict(payload["model_config"]))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
    except RuntimeError as error:
        raise ValueError(f"{path}: the weights do not fit the model config stored beside them (a checkpoint "
                         f"from another react_ros version?): {str(error).splitlines()[1].strip()}") from None
    meta = dict(payload.get("meta", {}))
    meta["optimizer"] = payload.get("optimizer")
    meta["sha256"] = file_sha256(path)
    return model.eval(), meta


