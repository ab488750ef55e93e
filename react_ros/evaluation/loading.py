"""A model for evaluation: its graphs on a backend and the sampling setting it runs at (the card's, overridden by
what the caller gives)."""
from __future__ import annotations

from collections.abc import Mapping


def load_model(model: str | None = None, backend: str = "torch", engine_dir: str | None = None,
               sampling_overrides: Mapping[str, object] | None = None):
    """(LoadedGraphs, SamplingConfig). model: a bundle directory, or None / "demo" for the shipped model. The card
    is read without torch, so ONNX Runtime and TensorRT runs never load the torch model."""
    from react_ros.model.card import ModelCard, sampling_setting
    from react_ros.runtime import load_graphs

    model_dir = None if model in (None, "demo") else model
    loaded = load_graphs(backend, model_dir=model_dir, engine_dir=engine_dir)
    return loaded, sampling_setting(ModelCard.read(model_dir), sampling_overrides)
