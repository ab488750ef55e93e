"""Inference backends behind one interface: `load_graphs(name, ...)` returns the three graphs the
generator runs (condition, denoise, decode; see model.generator.ReactionGraphs), the speaker-attribute
estimator function and a description of what was loaded (backend, model/engine ids) for diagnostics.

Backends: "torch" (reference), "onnxruntime" (any CPU), "tensorrt" (Jetson / NVIDIA GPUs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("torch",)


@dataclass
class LoadedGraphs:
    graphs: object  # ReactionGraphs
    estimator_fn: object | None  # EstimatorFn: (B,1,64,64) float32 0..1 -> (B,25)
    info: dict = field(default_factory=dict)  # backend, model/engine ids, precision: for diagnostics


def load_graphs(backend: str = "torch", model_dir: str | Path | None = None, engine_dir: str | Path | None = None,
                threads: int | None = None, fallback: str | None = None) -> LoadedGraphs:
    if backend == "torch":
        from react_ros.model.bundle import load_bundle
        from react_ros.perception.frontend import torch_estimator_fn
        from react_ros.runtime.torch_backend import TorchGraphs

        bundle = load_bundle(model_dir)
        estimator_fn = torch_estimator_fn(bundle.estimator) if bundle.estimator is not None else None
        return LoadedGraphs(TorchGraphs(bundle.model, threads), estimator_fn,
                            {"backend": "torch", "precision": "fp32", "model_dir": str(bundle.directory),
                             **bundle.ids})
    raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
