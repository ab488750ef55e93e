"""Pick the speaker front end by name (config key `face_frontend`).

- "haar": the Haar cascade + CNN estimator (the shipped demo model was trained on its features); needs an
  estimator (default: the shipped demo model's estimator.pt). `crop_mode` as in FaceCropper.
- "mesh": BlazeFace + FaceMesh + landmark geometry (react_ros.perception.mesh_frontend), for real cameras;
  no estimator, adds a per-value "measured" mask and voice features; full_range=True finds smaller, further
  faces (group scenes) at about 2-3x the detector cost.
Both return an object with SpeakerFrontEnd's call shape. Every runner builds its front end here (the online
pipeline, eval, bench, study), from the name `model.card.run_setting` resolved.
"""
from __future__ import annotations

from pathlib import Path

from react_ros.model.card import FACE_FRONTENDS
from react_ros.perception.frontend import SpeakerFrontEnd

__all__ = ["FACE_FRONTENDS", "build_frontend"]


def build_frontend(face_frontend: str = "haar", estimator: str | Path | None = None, crop_mode: str = "haar",
                   threads: int = 1, full_range: bool = False, estimator_fn=None,
                   check_smiles: bool = True) -> SpeakerFrontEnd:
    """`estimator_fn`: a loaded estimator (runtime.load_graphs(...).estimator_fn) instead of the file `estimator`;
    `check_smiles`: the mesh front end's appearance check of smiles (perception/expression_check.py)."""
    if face_frontend == "mesh":
        from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd  # noqa: PLC0415

        return MeshSpeakerFrontEnd(threads=threads, full_range=full_range, check_smiles=check_smiles)
    if face_frontend == "haar":
        from react_ros.model.bundle import ESTIMATOR_FILE  # noqa: PLC0415
        from react_ros.perception.estimator import load_estimator  # noqa: PLC0415
        from react_ros.perception.face_crop import FaceCropper  # noqa: PLC0415
        from react_ros.perception.frontend import torch_estimator_fn  # noqa: PLC0415

        if estimator_fn is not None:
            return SpeakerFrontEnd(FaceCropper(crop_mode), estimator_fn)
        if estimator is None:
            from importlib import resources  # noqa: PLC0415

            estimator = Path(str(resources.files("react_ros").joinpath("assets", "demo_model", ESTIMATOR_FILE)))
        model, _ = load_estimator(estimator)
        return SpeakerFrontEnd(FaceCropper(crop_mode), torch_estimator_fn(model))
    raise ValueError(f"face_frontend must be one of {', '.join(FACE_FRONTENDS)}, got {face_frontend!r}")
